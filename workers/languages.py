"""BCP 47 language tags, normalized by `langcodes` (ISO 639-1 where one exists, else ISO 639-3)."""

import re

import langcodes
from django.utils.translation import gettext as _


class InvalidLanguage(ValueError):
    """Its message is translated when raised: services pass it on in their errors' fields."""


def language_normalize(tag: str) -> str:
    """'swa' -> 'sw', 'SW_ke' -> 'sw-KE', 'luo' -> 'luo'; raises InvalidLanguage for unknown tags."""
    cleaned = (tag or "").strip().replace("_", "-")
    if not cleaned or not langcodes.tag_is_valid(cleaned):
        raise InvalidLanguage(_("'%(tag)s' is not a valid BCP 47 language tag.") % {"tag": tag})
    standard = langcodes.standardize_tag(cleaned)
    language = langcodes.Language.get(standard)
    if not language.language or not language.is_valid():
        raise InvalidLanguage(_("'%(tag)s' is not a valid BCP 47 language tag.") % {"tag": tag})
    return standard


def language_base(tag: str) -> str:
    """The base language subtag used for matching: 'sw-KE' and 'swa' both give 'sw'."""
    return langcodes.Language.get(language_normalize(tag)).language or ""


# Offered as suggestions in the profile (any other BCP 47 tag or language name is accepted too): the languages
# of the regions Crowdloop's organizations work in first, then widely used ones.
COMMON_LANGUAGES = (
    "en",
    "fr",
    "es",
    "pt",
    "ar",
    "hi",
    "sw",
    "ha",
    "yo",
    "ig",
    "am",
    "om",
    "so",
    "ti",
    "zu",
    "xh",
    "af",
    "rw",
    "rn",
    "lg",
    "luo",
    "ki",
    "kam",
    "ff",
    "wo",
    "tw",
    "ak",
    "ee",
    "bm",
    "dyu",
    "ln",
    "kg",
    "sn",
    "ny",
    "mg",
    "ur",
    "bn",
    "pa",
    "ta",
    "te",
    "mr",
    "ne",
    "id",
    "ms",
    "tl",
    "vi",
    "zh",
    "ru",
    "tr",
    "fa",
    "ps",
    "ku",
    "uk",
)
_TAG_IN_PARENTHESES = re.compile(r"\(([A-Za-z0-9_-]{2,35})\)\s*$")


def language_display_name(tag: str, interface: str) -> str:
    """The language's name in the reader's language ('ha' read in Kiswahili: 'Kihausa'); the tag if unknown."""
    try:
        name = langcodes.Language.get(tag).display_name(interface or "en")
    except (LookupError, ValueError):
        return tag
    return name[:1].upper() + name[1:]


def language_label(tag: str, interface: str) -> str:
    """What the profile shows and reads back: 'Kiswahili (sw)'."""
    return f"{language_display_name(tag, interface)} ({tag})"


def language_from_input(text: str) -> str:
    """A normalized tag from what a person typed: a tag ('sw', 'dyu', 'ff-Latn'), a name in any language
    ('Arabic', 'Kiarabu', 'هوسا'), or a suggestion as shown ('Kiswahili (sw)'). Raises InvalidLanguage."""
    cleaned = (text or "").strip()[:100]
    shown = _TAG_IN_PARENTHESES.search(cleaned)
    if shown:
        cleaned = shown.group(1)
    try:
        return language_normalize(cleaned)
    except InvalidLanguage:
        pass
    try:
        return language_normalize(str(langcodes.find(cleaned)))
    except (LookupError, ValueError, InvalidLanguage) as exc:
        raise InvalidLanguage(_("'%(text)s' is not a language we know.") % {"text": text}) from exc


def language_suggestions(interface: str, extra: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(tag, 'Name (tag)') for the common languages and `extra` ones, sorted by name in the reader's language."""
    tags = dict.fromkeys((*COMMON_LANGUAGES, *extra))
    return sorted(((tag, language_label(tag, interface)) for tag in tags), key=lambda pair: pair[1].casefold())
