"""Health check for load balancers and container orchestrators.

`GET /healthz/` probes each part the service stands on and reports it separately:
`{"status": "ok", "database": "ok", "cache": "ok", "broker": "ok"}`. A part is `ok`, `unavailable`, or `not_used`
(the broker when Celery tasks run in process, the cache when it lives in process memory). 200 while every part
listed in HEALTH_REQUIRED answers (`status` is `degraded` when an optional one does not), else 503 with the
usual error shape plus the same report, so a web container that lost what it needs is taken out of rotation
instead of serving errors. Every probe has a short timeout (HEALTH_TIMEOUT_SECONDS): the check never hangs.
No login, no session, and no cache call that could fall back to memory: Redis itself is asked.

`python -m config.health [URL]` probes the server running in the same container; the Dockerfile HEALTHCHECK and
docker-compose.yml use it, and its exit status (0 healthy, 1 not) is what Docker expects.
"""

import logging
import os
import sys
import urllib.request
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

PROBE_URL = "http://127.0.0.1:8000/healthz/"
OK, UNAVAILABLE, NOT_USED = "ok", "unavailable", "not_used"


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return OK


def _cache() -> str:
    from django.core.cache import cache

    ping = getattr(cache, "ping", None)  # config.cache.FallbackRedisCache; other backends live in process
    if ping is None:
        return NOT_USED
    ping()
    return OK


def _broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return NOT_USED
    from config.celery import app

    timeout = settings.HEALTH_TIMEOUT_SECONDS
    options = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    url = settings.CELERY_BROKER_URL
    with app.connection_for_read(url, connect_timeout=timeout, transport_options=options) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
    return OK


PARTS: dict[str, Callable[[], str]] = {"database": _database, "cache": _cache, "broker": _broker}


def _check(name: str, probe: Callable[[], str]) -> str:
    try:
        return probe()
    except Exception as exc:  # any failure of a part is that part being down; the details go to the log only
        logger.warning("Health check: %s unavailable: %s", name, exc)
        return UNAVAILABLE


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Probe the database (`SELECT 1`), the cache (Redis PING) and the Celery broker (a connection)."""
    report = {name: _check(name, probe) for name, probe in PARTS.items()}
    down = [name for name in settings.HEALTH_REQUIRED if report.get(name) == UNAVAILABLE]
    if down:
        # Imported here: config.api pulls in DRF, which needs loaded apps, and `python -m config.health` has none.
        from config.api import error_body

        # The endpoint is public: say what is down, not where it lives.
        message = ", ".join(name.capitalize() for name in down) + " unavailable."
        return JsonResponse({"status": "unhealthy", **report, **error_body("unhealthy", message, report)}, status=503)
    degraded = any(state == UNAVAILABLE for state in report.values())
    return JsonResponse({"status": "degraded" if degraded else OK, **report})


def probe_host(allowed_hosts: str) -> str:
    """A Host header that Django will accept, taken from a DJANGO_ALLOWED_HOSTS value.

    The probe talks to 127.0.0.1, but production only answers hosts listed in ALLOWED_HOSTS, so it borrows
    the first one: `.example.org` (domain and subdomains) becomes `example.org`, `*` or nothing becomes `localhost`.
    """
    first = next((part.strip() for part in allowed_hosts.split(",") if part.strip()), "*")
    return "localhost" if first == "*" else first.lstrip(".")


def probe(url: str = PROBE_URL, *, allowed_hosts: str | None = None, timeout: float = 5.0) -> int:
    """GET `url` as a local client would arrive through the TLS proxy; 0 when it answers 200, else 1."""
    if allowed_hosts is None:
        allowed_hosts = os.environ.get("DJANGO_ALLOWED_HOSTS", "")
    # X-Forwarded-Proto: https is what the TLS-terminating proxy sends (SECURE_PROXY_SSL_HEADER); without it
    # SECURE_SSL_REDIRECT would answer the probe with a redirect to https://127.0.0.1, which nothing serves.
    request = urllib.request.Request(url, headers={"Host": probe_host(allowed_hosts), "X-Forwarded-Proto": "https"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if response.status == 200:
                return 0
            print(f"unhealthy: {url} answered {response.status}", file=sys.stderr)
    except (OSError, ValueError) as exc:  # URLError and HTTPError (e.g. the 503 above) are OSErrors
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(probe(sys.argv[1] if len(sys.argv) > 1 else PROBE_URL))
