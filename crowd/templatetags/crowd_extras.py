from typing import Any

from django import template

register = template.Library()


@register.filter
def get_item(mapping: dict | None, key: Any) -> Any:
    """Look a key up in a dict from a template (keys are the string form of ids)."""
    if not mapping:
        return None
    return mapping.get(str(key))
