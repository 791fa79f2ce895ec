"""Reading the shipped catalogs and extracting what the code marks for translation, without GNU gettext.

Python files are read with Babel's Python extractor; templates are first turned into Python-like source by
Django's own `templatize` (what makemessages does), then read by the same extractor.
"""

import io
import re
from collections.abc import Iterator
from pathlib import Path

from babel.messages.extract import extract_python
from babel.messages.pofile import read_po
from django.conf import settings
from django.utils.translation.template import templatize

ROOT = Path(settings.BASE_DIR)
CODE_DIRS = ("config", "crowd", "payments", "workers", "templates")
KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|\{\w*\}")


def shipped_languages() -> list[str]:
    return [code for code, _ in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def catalog(language: str):
    with (ROOT / "locale" / language / "LC_MESSAGES" / "django.po").open("rb") as handle:
        return read_po(handle, locale=language)


def _sources() -> Iterator[Path]:
    for folder in CODE_DIRS:
        for path in sorted((ROOT / folder).rglob("*")):
            if "migrations" in path.parts or not path.is_file():
                continue
            if path.suffix in (".py", ".html", ".txt"):
                yield path


def template_paths() -> list[Path]:
    return [path for path in _sources() if path.suffix in (".html", ".txt")]


def marked_messages() -> set[tuple[str | None, str]]:
    """(context, msgid) of every string the code and templates mark for translation."""
    found: set[tuple[str | None, str]] = set()
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        source = templatize(text, origin=str(path)) if path.suffix != ".py" else text
        for _lineno, funcname, message, _comments in extract_python(
            io.BytesIO(source.encode("utf-8")), KEYWORDS.keys(), [], {}
        ):
            spec = KEYWORDS[funcname]
            parts = message if isinstance(message, tuple) else (message,)
            context = parts[0] if spec and isinstance(spec[0], tuple) else None
            msgid = parts[1] if context is not None else parts[0]
            if msgid:
                found.add((context, msgid))
    return found


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))
