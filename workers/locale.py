"""Which interface language a request is served in.

Order: the picker's choice (Django's language cookie, set by `language_set`), then the signed-in person's
saved `preferred_language`, then the browser's Accept-Language, then English. Django's LocaleMiddleware
already does cookie → Accept-Language → default; this middleware slots the account's choice in between,
so a worker who picked Hausa on one phone gets Hausa on the next one too.
"""

from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers


def supported_language(code: str | None) -> str | None:
    """The interface language to use for a stored or submitted code ("sw-KE" → "sw"), or None."""
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code.strip())
    except LookupError:
        return None


class AccountLocaleMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not _is_api(request):
            account_language_activate(request)
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie",))
        return response


def account_language_activate(request: HttpRequest) -> None:
    """Serve this request in the signed-in person's saved language, unless the picker chose one. Also called by
    a view that signs someone in and answers with a page in the same response."""
    if supported_language(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)):
        return
    saved = _saved_language(request)
    if saved:
        translation.activate(saved)
        request.LANGUAGE_CODE = saved


def _saved_language(request: HttpRequest) -> str | None:
    try:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return supported_language(user.preferred_language)
    except DatabaseError:
        # Reading the session or the user failed here, outside the view: leave it to the view, whose error
        # handling answers 503 (config/middleware.py); the page is then in the browser's language.
        return None


def _is_api(request: HttpRequest) -> bool:
    # The API speaks English (error messages stay English); only pages follow the account's language.
    return request.path.startswith("/api/")


def interface_languages(request: HttpRequest) -> dict[str, object]:
    """Template context for the language picker on every page: (code, own name) pairs."""
    return {"interface_languages": settings.LANGUAGES}
