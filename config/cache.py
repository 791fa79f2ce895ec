"""A Redis cache that degrades instead of failing: while Redis cannot be reached, every call is served from this
process's memory.

Nothing in Crowdloop keeps data only in the cache (sessions and money live in the database), so the cache going
away must not take sign-in (allauth's rate limits and their lock), submits (coalesced aggregation) or any page
down with it. The fallback is weaker, not absent: rate limits and coalescing still hold per process. After a
failure Redis is left alone for `DOWN_SECONDS` (a cache setting, default 5), so a dead or unreachable Redis
costs one short timeout per process every few seconds, not one per call. `ping()` raises, for the health check.
"""

import logging
import time
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Per process, per Redis location (Django builds one cache object per thread; the outage is the same for all).
_down_until: dict[str, float] = {}


class FallbackRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]):
        super().__init__(server, params)
        self._location = server if isinstance(server, str) else ",".join(server)
        self._down_seconds = float(params.get("DOWN_SECONDS", 5))
        # LocMemCache keeps its data per name at module level: every thread of the process shares this fallback.
        self._fallback = LocMemCache(
            f"redis-fallback:{self._location}",
            {key: params[key] for key in ("TIMEOUT", "KEY_PREFIX", "VERSION") if key in params},
        )

    def ping(self) -> None:
        """Ask Redis itself, skipping the fallback; raises redis's error when it does not answer."""
        self._cache.get_client(write=True).ping()

    def degraded(self) -> bool:
        """True while Redis is being left alone after a failure: callers that share this Redis (the Celery broker)
        can skip it rather than wait out their own, longer timeouts on a Redis that hangs."""
        return time.monotonic() < _down_until.get(self._location, 0.0)

    def _either(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if time.monotonic() >= _down_until.get(self._location, 0.0):
            try:
                result = getattr(super(), name)(*args, **kwargs)
            except RedisError as exc:
                if _down_until.get(self._location) is None:
                    logger.warning("Redis cache unreachable, serving from process memory: %s", exc)
                _down_until[self._location] = time.monotonic() + self._down_seconds
            else:
                if _down_until.pop(self._location, None) is not None:
                    logger.warning("Redis cache reachable again")
                return result
        return getattr(self._fallback, name)(*args, **kwargs)

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._either("add", key, value, timeout, version)

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._either("get", key, default, version)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        self._either("set", key, value, timeout, version)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._either("touch", key, timeout, version)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._either("delete", key, version)

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        return self._either("get_many", keys, version)

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._either("has_key", key, version)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return self._either("incr", key, delta, version)

    def set_many(self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> list:
        return self._either("set_many", data, timeout, version)

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._either("delete_many", keys, version)

    def clear(self) -> bool:
        return self._either("clear")
