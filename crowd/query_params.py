"""Query-string values read the one way every list and export reads them."""

from typing import Any

from django.utils.translation import gettext as _

from crowd.exceptions import ValidationFailed

TRUE, FALSE = ("true", "1"), ("false", "0")


def boolean_value(raw: Any) -> bool | None:
    """`true`/`false` or `1`/`0`, any case; None when empty. Anything else is a ValueError: read as "no filter", a
    mistyped `active=ture` would hand every row to a client that believes them filtered."""
    if raw is None or isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if not text:
        return None
    if text in TRUE or text in FALSE:
        return text in TRUE
    raise ValueError(text)


def boolean_param(query: Any, name: str) -> bool | None:
    """`query[name]` as a boolean (see boolean_value); a 400 naming it otherwise."""
    try:
        return boolean_value(query.get(name))
    except ValueError:
        raise ValidationFailed(
            _("Invalid filter: %(names)s.") % {"names": name}, fields={name: _("Must be true or false.")}
        ) from None


def whole_number(raw: Any) -> int | None:
    """A whole number written in the digits 0-9 (an id, a page's position, a count of days), else None. Not
    `str.isdigit()`: it also takes "²" and other Unicode digits that int() refuses, a 500 for a hand-edited form."""
    if not isinstance(raw, str) or not raw.isascii() or not raw.isdigit():
        return None
    return int(raw)
