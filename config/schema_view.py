"""The schema endpoint (its own module: drf-spectacular's views import the schema class from config.api)."""

from typing import Any

from django.http import Http404
from drf_spectacular.views import SpectacularAPIView
from rest_framework.renderers import JSONRenderer

from config.errors import ValidationFailed


class SchemaView(SpectacularAPIView):
    """The schema as YAML or JSON. An unknown `?format=` is a 400 in the error shape, as JSON: DRF's default is
    a 404 whose body is rendered by the first renderer, YAML, which no client expects."""

    def perform_content_negotiation(self, request: Any, force: bool = False) -> tuple:
        try:
            return super().perform_content_negotiation(request, force=False)
        except Http404:
            if force:  # rendering the error itself
                return JSONRenderer(), JSONRenderer.media_type
            raise ValidationFailed(
                "Unknown schema format; use ?format=json or ?format=yaml.", fields={"format": "json or yaml."}
            ) from None
