"""Input limits shared by the API, the pages and the importers. Pure: no Django.

PostgreSQL cannot store a NUL character (text or jsonb), nor NaN/Infinity in jsonb, nor an integer beyond
64 bits in a bigint column; Python's JSON parser recurses once per nesting level. Every value a person
sends is checked against these limits before anything is stored, so bad input is a 400, never a 500.
"""

import math
from typing import Any

# Longest text accepted per kind of field (characters).
NAME_MAX = 200
INSTRUCTIONS_MAX = 20_000
REASON_MAX = 2_000
MESSAGE_MAX = 4_000
REFERENCE_MAX = 200
LABEL_MAX = 200  # one label value or its display text
FREE_TEXT_ANSWER_MAX = 5_000
DATA_STRING_MAX = 20_000  # one string inside an item's data
# Any string anywhere in a JSON body: the backstop behind the per-field limits above.
JSON_STRING_MAX = 100_000
JSON_MAX_DEPTH = 20
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


class InputRejected(ValueError):
    """A value breaks a limit; `path` names where ("data.text", "answers.0.label", "" for the whole body)."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def json_check(
    value: Any, *, path: str = "", max_depth: int = JSON_MAX_DEPTH, max_string: int = JSON_STRING_MAX
) -> None:
    """Raise InputRejected for the first value PostgreSQL or the service cannot take: nesting deeper than
    `max_depth`, a NUL character in a string or key, a string longer than `max_string`, a non-finite number
    or an integer beyond 64 bits. Iterative, so a deep value cannot exhaust the stack here."""
    stack: list[tuple[str, Any, int]] = [(path, value, 0)]
    while stack:
        where, current, depth = stack.pop()
        if isinstance(current, dict | list):
            if depth >= max_depth:
                raise InputRejected(where, f"Nested deeper than {max_depth} levels.")
            pairs = current.items() if isinstance(current, dict) else enumerate(current)
            for key, child in pairs:
                if isinstance(key, str):
                    text_check(key, path=where, max_length=max_string)
                stack.append((_join(where, key), child, depth + 1))
        elif isinstance(current, str):
            text_check(current, path=where, max_length=max_string)
        elif isinstance(current, float) and not math.isfinite(current):
            raise InputRejected(where, "Numbers must be finite.")
        elif isinstance(current, int) and not isinstance(current, bool) and not INT_MIN <= current <= INT_MAX:
            raise InputRejected(where, "Number out of range.")


def text_check(value: str, *, path: str = "", max_length: int | None = None) -> str:
    """Refuse NUL characters and text longer than `max_length`; return the value unchanged."""
    if "\x00" in value:
        raise InputRejected(path, "Contains a NUL character (\\u0000), which cannot be stored.")
    if max_length is not None and len(value) > max_length:
        raise InputRejected(path, f"At most {max_length} characters.")
    return value


MAX_ANSWERS = 1_000


def answers_check(raw_answers: Any) -> None:
    """A submission's labels within the limits: free text at most FREE_TEXT_ANSWER_MAX characters, a choice at
    most LABEL_MAX, no NUL. The shape itself (items, labels in the label set) is the answer service's rule."""
    if not isinstance(raw_answers, list):
        return
    if len(raw_answers) > MAX_ANSWERS:
        raise InputRejected("answers", f"At most {MAX_ANSWERS} answers.")
    for index, entry in enumerate(raw_answers):
        if isinstance(entry, dict):
            json_check(entry.get("label"), path=f"answers.{index}.label", max_depth=2, max_string=FREE_TEXT_ANSWER_MAX)
