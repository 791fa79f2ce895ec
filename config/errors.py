"""Domain errors shared by every app: services raise these; config/api.py maps them to HTTP."""

from typing import Any


class DomainError(Exception):
    code = "invalid"
    status = 400

    def __init__(self, message: str, *, fields: dict[str, Any] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code


class ValidationFailed(DomainError):
    code = "validation_error"


class NotFound(DomainError):
    code = "not_found"
    status = 404


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403


class Conflict(DomainError):
    code = "conflict"
    status = 409


class LeaseExpired(Conflict):
    code = "lease_expired"


class InvalidState(Conflict):
    code = "invalid_state"


class ServiceUnavailable(DomainError):
    """A part the request needs (database, task queue) is down for now: 503, worth retrying later."""

    code = "unavailable"
    status = 503
