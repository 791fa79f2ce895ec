"""Request rate limits for the API, one budget per caller: an organization API key, a worker token, a signed-in user
(browser session), or the client address for anonymous requests. Rates come from REST_FRAMEWORK
DEFAULT_THROTTLE_RATES (scopes `api_key`, `worker`, `user`, `anon`; the settings read each from the environment).

A fixed window counted with the cache's atomic `incr` (Redis in production, so every web process shares the counts):
one small write per request, where DRF's SimpleRateThrottle rewrites a list of every request's time. A caller over
its rate gets 429 in the error shape with `Retry-After`, the seconds until its window ends.

DRF checks throttles after authentication and permissions, so a request without valid credentials would be refused
(401) before any throttle saw it, and guessing keys would cost nothing. Anonymous requests are therefore counted
earlier: by `AnonymousRateLimit`, the first permission class, and on a refused token by `count_refused_token`.
"""

import time
from typing import Any

from django.core.cache import cache
from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_COUNTED = "_crowdloop_rate_counted"  # set on the Django request once its budget was charged


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """ "120/min" -> (120, 60); None (no limit) for a missing rate."""
    if not rate:
        return None
    count, period = rate.split("/")
    return int(count), _PERIODS[period.strip()[0]]


def _charge(scope: str, ident: str) -> float | None:
    """Count one request against the budget; the seconds to wait when it is spent, else None."""
    # Read at each request, not at import: settings (and tests' override_settings) may change the rates.
    limit = parse_rate(api_settings.DEFAULT_THROTTLE_RATES.get(scope))
    if limit is None:
        return None
    count, period = limit
    now = time.time()
    window = int(now // period)
    key = f"throttle:{scope}:{ident}:{period}:{window}"
    # add() starts the window's counter only if it is not there yet; incr() is atomic on Redis.
    cache.add(key, 0, timeout=period + 1)
    try:
        used = cache.incr(key)
    except ValueError:  # the counter expired between add and incr: this request opens the window
        cache.add(key, 1, timeout=period + 1)
        used = 1
    if used <= count:
        return None
    return max(1.0, (window + 1) * period - now)


def _anonymous_ident(request: Any) -> str:
    return f"a{BaseThrottle().get_ident(request) or ''}"


def _charge_anonymous_once(request: Request | Any) -> None:
    """Charge the client address once per request; raise Throttled when its budget is spent."""
    django_request = getattr(request, "_request", request)
    if getattr(django_request, _COUNTED, False):
        return
    setattr(django_request, _COUNTED, True)
    wait = _charge("anon", _anonymous_ident(request))
    if wait is not None:
        raise exceptions.Throttled(wait=wait)


def count_refused_token(request: Any) -> None:
    """A request whose token was refused counts against its address's anonymous budget (crowd/api/auth.py)."""
    _charge_anonymous_once(request)


class AnonymousRateLimit(BasePermission):
    """Not a permission: charges requests without credentials before IsAuthenticated refuses them."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            _charge_anonymous_once(request)
        return True


class ApiRateThrottle(BaseThrottle):
    def allow_request(self, request: Request, view: Any) -> bool:
        from crowd.models import ApiKey  # imported here: DRF loads this class while apps are still loading
        from workers.models import WorkerToken

        auth = request.auth
        if isinstance(auth, ApiKey):
            self._wait = _charge("api_key", f"k{auth.pk}")
        elif isinstance(auth, WorkerToken):
            self._wait = _charge("worker", f"w{auth.pk}")
        elif request.user is not None and request.user.is_authenticated:
            self._wait = _charge("user", f"u{request.user.pk}")
        else:
            _charge_anonymous_once(request)
            self._wait = None
        return self._wait is None

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)
