"""`ETag` and `If-None-Match` for API reads that partners poll (results, campaign detail, annotators, fairness).

The ETag is a hash of the response body itself, so it changes exactly when the body does, whatever changed underneath
(answers, aggregation, a decision, a renamed campaign). A matching `If-None-Match` gets `304 Not Modified` with no
body: the server still builds the answer, but the poller downloads and parses nothing while nothing changed.
"""

from typing import Any

from django.http import HttpResponseBase
from django.utils.cache import get_conditional_response, set_response_etag
from rest_framework.request import Request


class ETagMixin:
    """For APIViews: GET answers carry an ETag and honour If-None-Match (config/api.py documents both)."""

    etag = True

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        if request.method not in ("GET", "HEAD") or response.status_code != 200 or response.streaming:
            return response
        response.render()  # the body is needed for its hash; Django does not render a response twice
        set_response_etag(response)
        # If-None-Match uses the weak comparison, so the ETag still matches after GZipMiddleware marks it weak.
        return get_conditional_response(request, etag=response["ETag"], response=response) or response
