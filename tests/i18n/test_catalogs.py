"""Every shipped language is complete: no untranslated or fuzzy entry, placeholders intact, every marked string
in every catalog, and no visible template text left unmarked."""

import html
import re

import pytest
from django.template.base import Lexer, TokenType

from tests.i18n.catalogs import catalog, marked_messages, placeholders, shipped_languages, template_paths

LANGUAGES = shipped_languages()


def test_eight_interface_languages_ship():
    assert LANGUAGES == ["fr", "es", "pt", "sw", "ha", "ar", "hi"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_has_no_untranslated_or_fuzzy_entry(language):
    problems = []
    for message in catalog(language):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif not all(strings):
            problems.append(f"untranslated: {message.id!r}")
    assert not problems, f"locale/{language}: " + "; ".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders(language):
    problems = []
    for message in catalog(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = placeholders(ids[-1])
        for string in strings:
            # A plural form may leave out the count (Hausa and Arabic singulars often do), nothing else.
            got = placeholders(string)
            if set(got) - set(wanted) or (set(wanted) - set(got)) - {"%(count)s"}:
                problems.append(f"{message.id!r} → {string!r}")
    assert not problems, f"locale/{language}: " + "; ".join(problems)


def test_every_marked_string_is_in_every_catalog():
    marked = marked_messages()
    assert len(marked) > 100, "extraction found suspiciously few strings"
    for language in LANGUAGES:
        present = {(m.context, m.id[0] if isinstance(m.id, tuple) else m.id) for m in catalog(language) if m.id}
        missing = sorted(msgid for context, msgid in marked - present)
        assert not missing, f"locale/{language} lacks (run `make messages` and translate): {missing[:10]}"


# Text a template may show without translation: the product's name and symbols.
ALLOWED = {"Crowdloop"}
VISIBLE_ATTRIBUTES = re.compile(r"""\b(?:alt|title|placeholder|aria-label)\s*=\s*["']([^"']*)["']""")
LETTERS = re.compile(r"[^\W\d_]{2,}")
MARK = "\x00"


def _unmarked_text(source: str) -> list[str]:
    """Words a reader would see that no translation tag produced."""
    pieces, hidden = [], 0
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents else ""
            if name in ("blocktranslate", "blocktrans", "comment"):
                hidden += 1
            elif name in ("endblocktranslate", "endblocktrans", "endcomment"):
                hidden -= 1
            pieces.append(MARK)
        elif token.token_type == TokenType.TEXT and not hidden:
            pieces.append(token.contents)
        else:
            pieces.append(MARK)
    text = "".join(pieces)
    text = re.sub(r"<(style|script)\b.*?</\1>", " ", text, flags=re.S | re.I)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    found = [value for value in VISIBLE_ATTRIBUTES.findall(text)]
    text = re.sub(r"<[^>]*>", " ", text)
    found.append(text)
    words = []
    for chunk in found:
        chunk = html.unescape(chunk.replace(MARK, " "))
        words += [word for word in LETTERS.findall(chunk) if word not in ALLOWED]
    return words


def test_no_template_shows_unmarked_text():
    problems = {}
    for path in template_paths():
        words = _unmarked_text(path.read_text(encoding="utf-8"))
        if words:
            problems[str(path.name)] = words[:6]
    assert not problems, f"visible text not marked for translation: {problems}"


def test_the_unmarked_text_check_catches_what_it_should():
    assert _unmarked_text("<p>{% translate 'Hello' %}</p>") == []
    assert _unmarked_text("<p>Hello {{ name }}</p>") == ["Hello"]
    assert _unmarked_text('<img alt="A cat" src="{{ url }}">') == ["cat"]
    assert _unmarked_text("{% blocktranslate %}Hi {{ name }}{% endblocktranslate %}") == []
    assert _unmarked_text("<style>body{color:red}</style>") == []
    assert _unmarked_text('<input placeholder="Search">') == ["Search"]
