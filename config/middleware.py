"""Request-wide guards for HTML views and the API: domain errors as small pages, and the request limits
(body size, NUL characters) checked before any view, form or CSRF check reads the body."""

from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from config.api import error_body, too_large_body
from config.errors import DomainError

NUL_MESSAGE = "The request contains a NUL character (\\u0000), which cannot be stored."
# Room for the multipart framing and small fields around an uploaded file.
_MULTIPART_OVERHEAD = 64 * 1024


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


class DomainErrorPageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError) or _is_api(request):
            return None
        return render(request, "error.html", {"message": exception.message}, status=exception.status)


class RequestLimitsMiddleware:
    """A body over the size limit is a 413 before anything reads it; a NUL character in the path, the query
    string or a form field is a 400 (PostgreSQL cannot store one). The API answers in its error shape,
    pages with a message. Uploaded files may be as large as IMPORT_MAX_BYTES; every other body is limited
    by DATA_UPLOAD_MAX_MEMORY_SIZE (DRF reads JSON bodies without Django's own check, so it happens here)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _content_length(request) > _body_limit(request):
            return self._refuse(request, 413)
        try:
            has_nul = _has_nul(request)
        except RequestDataTooBig:  # a multipart form whose fields alone pass DATA_UPLOAD_MAX_MEMORY_SIZE
            return self._refuse(request, 413)
        if has_nul:
            return self._refuse(request, 400)
        return self.get_response(request)

    def _refuse(self, request: HttpRequest, status: int) -> HttpResponse:
        if status == 413:
            body = too_large_body()
            message = _("That was too much to send at once. Please send less.")
        else:
            body = error_body("invalid_character", NUL_MESSAGE)
            message = _("Your text contains a character that cannot be saved (NUL). Please remove it and try again.")
        if _is_api(request):
            return JsonResponse(body, status=status)
        return render(request, "error.html", {"message": message}, status=status)


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _body_limit(request: HttpRequest) -> int:
    if request.content_type == "multipart/form-data":
        return settings.IMPORT_MAX_BYTES + _MULTIPART_OVERHEAD
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path_info or b"\x00" in unquote_to_bytes(request.META.get("QUERY_STRING", "")):
        return True
    # Pages read form fields straight from request.POST; the API's parsers and serializers check their own.
    if request.method == "POST" and not _is_api(request) and request.content_type in _FORM_TYPES:
        return any("\x00" in key or any("\x00" in v for v in values) for key, values in request.POST.lists())
    return False


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
