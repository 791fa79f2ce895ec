"""Pseudonymous worker ids for organization-facing outputs.

An organization sees a worker as ``w_`` + 26 base32 characters of HMAC-SHA256(key, "<organization id>:<worker id>"):
stable for that organization (its exports, archive and API agree), different in every other organization (two
organizations cannot join their data on it), and not reversible without the key. The key is
``CROWDLOOP_PSEUDONYM_KEY``; where it is unset it is derived from ``SECRET_KEY``, so rotating ``SECRET_KEY`` without
setting the pseudonym key first changes every pseudonym (docs/privacy.md says so). An organization maps the pseudonyms
of the workers it enrolled itself through its pool listing, nowhere else.
"""

import base64
import hashlib
import hmac
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings

PREFIX = "w_"


@lru_cache(maxsize=4)
def _key(configured: str, secret_key: str) -> bytes:
    if configured:
        return configured.encode()
    return hmac.new(secret_key.encode(), b"crowdloop-pseudonyms", hashlib.sha256).digest()


def pseudonym(organization_id: int, worker_id: int) -> str:
    key = _key(getattr(settings, "CROWDLOOP_PSEUDONYM_KEY", ""), settings.SECRET_KEY)
    digest = hmac.new(key, f"{organization_id}:{worker_id}".encode(), hashlib.sha256).digest()
    return PREFIX + base64.b32encode(digest).decode()[:26].lower()


def pseudonyms(organization_id: int, worker_ids: Iterable[int]) -> dict[int, str]:
    """One pseudonym per distinct worker id: exports look them up in this dict instead of hashing per row."""
    return {worker_id: pseudonym(organization_id, worker_id) for worker_id in set(worker_ids)}
