"""Domain errors of the crowd app (the hierarchy itself is shared: config/errors.py)."""

from config.errors import (
    Conflict,
    DomainError,
    InvalidState,
    LeaseExpired,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)

__all__ = [
    "Conflict",
    "DomainError",
    "InvalidState",
    "LeaseExpired",
    "NotFound",
    "PermissionDenied",
    "ValidationFailed",
]
