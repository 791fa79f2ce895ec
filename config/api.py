"""One error shape for every 4xx: {"error": {"code", "message", "fields"}}, and the schema class that documents it
on every operation."""

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.errors import DomainError, ValidationFailed
from config.limits import InputRejected


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def too_large_body() -> dict[str, Any]:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return error_body(
        "too_large",
        f"The request body is larger than {limit} bytes; send item files of up to "
        f"{settings.IMPORT_MAX_BYTES} bytes as a multipart `file`.",
    )


def rejected(exc: InputRejected) -> ValidationFailed:
    """An input limit broken somewhere in a body, as the 400 naming the field."""
    where = exc.path or "body"
    return ValidationFailed(f"{where}: {exc.message}", fields={where: exc.message})


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        flat = [_flatten(value) for value in detail]
        return flat[0] if len(flat) == 1 and isinstance(flat[0], str) else flat
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, InputRejected):
        exc = rejected(exc)
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status)
    if isinstance(exc, Http404):
        return Response(error_body("not_found", "Not found."), status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, RequestDataTooBig):
        return Response(too_large_body(), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return Response(error_body("too_many_fields", str(exc)), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        fields = _flatten(detail) if isinstance(detail, dict) else {}
        message = "Invalid input."
        if isinstance(detail, list):
            message = "; ".join(str(d) for d in detail) or message
        elif isinstance(fields, dict) and "non_field_errors" in fields:
            message = str(fields.pop("non_field_errors"))
        response.data = error_body("validation_error", message, fields)
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        response.data = error_body(code, str(exc.detail))
    return response


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(help_text="Field name (or path) to what is wrong with it.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


# Statuses any operation may answer, always in the error shape: bad input, no or wrong credentials, someone
# else's object, a state that forbids the move, a body over the size limit, a content type not parsed.
ERROR_STATUSES = ("400", "401", "403", "404", "409", "413", "415")
# Every operation is rate limited (config/throttling.py): 429 in the error shape, with the wait in Retry-After.
THROTTLED_STATUS = "429"
RETRY_AFTER_HEADER = {
    "Retry-After": {
        "schema": {"type": "integer", "minimum": 1},
        "description": "Seconds to wait before asking again.",
    }
}
ETAG_HEADER = {
    "ETag": {
        "schema": {"type": "string"},
        "description": "Changes whenever the body does: send it back as If-None-Match to get 304 while unchanged.",
        "example": '"3f1c2a9b0d7e4f6a8b5c1d2e3f4a5b6c"',
    }
}
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    str,
    location=OpenApiParameter.HEADER,
    description="The ETag of a previous answer: 304 with no body while the answer would be the same.",
)
ERROR_EXAMPLE = {"error": {"code": "validation_error", "message": "Invalid input.", "fields": {"name": "Required."}}}
THROTTLED_EXAMPLE = {
    "error": {"code": "throttled", "message": "Request was throttled. Expected available in 12 seconds.", "fields": {}}
}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema plus the error responses every operation can give, so that clients (and
    the fuzzer in tests/test_api_fuzz.py) know every status code the API answers."""

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in (*ERROR_STATUSES, THROTTLED_STATUS):
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                example = THROTTLED_EXAMPLE if code == THROTTLED_STATUS else ERROR_EXAMPLE
                for media in responses[code].get("content", {}).values():
                    media.setdefault("examples", {"error": {"value": example, "summary": "The error shape"}})
        responses[THROTTLED_STATUS].setdefault("headers", {}).update(RETRY_AFTER_HEADER)
        if getattr(self.view, "etag", False) and self.method == "GET" and "200" in responses:
            # crowd/api/etags.py: the body's ETag, and 304 with no body when If-None-Match still matches it.
            responses["200"].setdefault("headers", {}).update(ETAG_HEADER)
            unchanged = "Not modified: the body is unchanged since that ETag."
            responses["304"] = {"description": unchanged, "headers": ETAG_HEADER}
        return responses

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if getattr(self.view, "etag", False) and self.method == "GET":
            parameters.append(IF_NONE_MATCH)
        return parameters
