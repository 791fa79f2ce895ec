"""Request rate limits for the API, one counter per caller: an organization API key, a worker token, a signed-in
user (browser session), or the client address for anonymous requests. Rates come from REST_FRAMEWORK
DEFAULT_THROTTLE_RATES (scopes `api_key`, `worker`, `user`, `anon`; settings read each one from the environment).

A fixed window counted with the cache's atomic `incr` (Redis in production, so every web process shares the counts):
one small write per request, where DRF's SimpleRateThrottle rewrites a list of every request's time. A caller over
its rate gets 429 in the error shape with `Retry-After`, the seconds until its window ends.
"""

import time
from typing import Any

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from crowd.models import ApiKey
from workers.models import WorkerToken

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """ "120/min" -> (120, 60); None (no limit) for a missing rate."""
    if not rate:
        return None
    count, period = rate.split("/")
    return int(count), _PERIODS[period.strip()[0]]


def _scope_and_ident(request: Request, throttle: BaseThrottle) -> tuple[str, str]:
    auth = request.auth
    if isinstance(auth, ApiKey):
        return "api_key", f"k{auth.pk}"
    if isinstance(auth, WorkerToken):
        return "worker", f"w{auth.pk}"
    if request.user is not None and request.user.is_authenticated:
        return "user", f"u{request.user.pk}"
    return "anon", f"a{throttle.get_ident(request)}"


class ApiRateThrottle(BaseThrottle):
    def allow_request(self, request: Request, view: Any) -> bool:
        scope, ident = _scope_and_ident(request, self)
        # Read at each request, not at import: settings (and tests' override_settings) may change the rates.
        limit = parse_rate(api_settings.DEFAULT_THROTTLE_RATES.get(scope))
        if limit is None:
            return True
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
            return True
        self._wait = max(1.0, (window + 1) * period - now)
        return False

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)
