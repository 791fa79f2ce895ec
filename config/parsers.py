"""The API's JSON parser: bodies within the input limits of config/limits.py.

Its own module because DRF reads DEFAULT_PARSER_CLASSES while defining APIView, so it must not import views.
"""

import json
from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser

from config.errors import ValidationFailed
from config.limits import json_check


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class LimitedJSONParser(JSONParser):
    """JSON bodies within the input limits (config/limits.py): no NaN/Infinity, no NUL, bounded nesting and
    string length. Too deep for Python's own parser is a 400 too, not a RecursionError."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding) if stream is not None else ""
            data = json.loads(text, parse_constant=_refuse_constant)
        except RecursionError:
            raise ValidationFailed(
                "body: Nested too deeply.", fields={"body": "Nested too deeply."}, code="parse_error"
            ) from None
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        json_check(data)
        return data
