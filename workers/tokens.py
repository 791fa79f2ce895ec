"""Bearer tokens: shown once, stored only as a SHA-256 digest so a database leak leaks no keys."""

import hashlib
import secrets


def token_new(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
