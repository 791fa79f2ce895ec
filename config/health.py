"""Health check for load balancers and container orchestrators.

`GET /healthz/` answers 200 `{"status": "ok", "database": "ok"}` once the database answers `SELECT 1`, and 503
with the usual error shape when it does not, so a web container that lost its database is taken out of rotation
instead of serving 500s. No login, no session, no cache.

`python -m config.health [URL]` probes the server running in the same container; the Dockerfile HEALTHCHECK and
docker-compose.yml use it, and its exit status (0 healthy, 1 not) is what Docker expects.
"""

import logging
import os
import sys
import urllib.request

from django.db import Error, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

PROBE_URL = "http://127.0.0.1:8000/healthz/"


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Run `SELECT 1` on the default database; 503 `unhealthy` if it fails (details go to the log only)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Error as exc:  # django.db.Error: also InterfaceError, raised when the connection is already gone
        # Imported here: config.api pulls in DRF, which needs loaded apps, and `python -m config.health` has none.
        from config.api import error_body

        logger.warning("Health check failed: database did not answer SELECT 1: %s", exc)
        # The endpoint is public: say what is wrong, not where the database lives.
        return JsonResponse(error_body("unhealthy", "Database unavailable."), status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


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
