"""Which image URLs in item data may be shown to a worker: http(s) URLs or this site's stored media. Checked on
import (the row and field are named) and again when the page is rendered, in case a row predates the check."""

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

# Keys of an item's data that the task page shows as an image.
IMAGE_KEYS = ("image", "image_url")
IMAGE_URL_MAX = 2048


def image_url_problem(value: Any) -> str | None:
    """Why `value` may not be shown as an image, or None when it may."""
    if not isinstance(value, str) or not value:
        return "Must be an http(s) URL or a stored media path."
    if len(value) > IMAGE_URL_MAX:
        return f"At most {IMAGE_URL_MAX} characters."
    if any(ord(char) < 0x21 or char in "\"'<>\\`" for char in value):
        return "Must not contain spaces, quotes or control characters."
    media = "/" + settings.MEDIA_URL.lstrip("/")
    if value.startswith(media) and "//" not in value and "/../" not in value:
        return None
    parts = urlsplit(value)
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return None
    return f"Must be an http(s) URL or a path under {media} (javascript:, data: and others are not shown)."


def image_url_safe(value: Any) -> bool:
    return image_url_problem(value) is None
