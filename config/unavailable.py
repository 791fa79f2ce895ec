"""A database that goes away mid-request answers 503, not 500.

A dropped or refused connection (server restart, failover, pg_terminate_backend, network) surfaces as
django.db.OperationalError or InterfaceError wherever the view happened to be. The transaction it was in is
rolled back by the server, so nothing is half-written; the client is told to retry: 503 with `Retry-After`, in
the API's error shape under /api/, as a small page elsewhere. The details go to the log only.
"""

import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext

from config.api import error_body

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
API_MESSAGE = "The service is briefly unavailable; try again shortly."


class ServiceUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning("Database unavailable during %s %s: %s", request.method, request.path, exception)
        return unavailable_response(request)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(error_body("unavailable", API_MESSAGE), status=503)
    else:
        message = gettext("Crowdloop is briefly unavailable. Please try again in a moment.")
        # No request context: its processors may need the database that just failed.
        response = HttpResponse(render_to_string("error.html", {"message": message}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: what the middleware above cannot catch — a database lost inside another middleware (saving the
    session, loading the user) — still answers 503; any other unexpected error answers 500 in the API's error
    shape under /api/ (never Django's HTML page there) and as our own small page elsewhere."""
    exception = sys.exc_info()[1]
    if isinstance(exception, OperationalError | InterfaceError):
        return unavailable_response(request)
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body("server_error", "Something went wrong on our side; it has been logged."), status=500
        )
    message = gettext("Something went wrong on our side. It has been logged; please try again.")
    return HttpResponse(render_to_string("error.html", {"message": message}), status=500)
