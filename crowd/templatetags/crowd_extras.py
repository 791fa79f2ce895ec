from typing import Any

from django import template

from crowd.image_urls import image_url_safe as _image_url_safe

register = template.Library()


@register.filter
def get_item(mapping: dict | None, key: Any) -> Any:
    """Look a key up in a dict from a template (keys are the string form of ids)."""
    if not mapping:
        return None
    return mapping.get(str(key))


@register.filter
def image_url_safe(value: Any) -> bool:
    """Whether an item's image URL may go into an <img src> (checked on import too; this is the second check)."""
    return _image_url_safe(value)
