"""CSV cells that a spreadsheet would run as a formula, made inert (OWASP "CSV injection").

Every CSV the service writes passes text that came from people (labels, ids, names, payout details) through
`spreadsheet_text`; numbers the service computes itself (amounts, counts, confidences) are written as they are,
so "-0.40" stays a number.
"""

from typing import Any

# A cell starting with one of these is read as a formula by Excel, LibreOffice or Google Sheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: Any) -> Any:
    """Prefix formula-like text with an apostrophe; anything that is not a string is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
