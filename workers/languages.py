"""BCP 47 language tags, normalized by `langcodes` (ISO 639-1 where one exists, else ISO 639-3)."""

import langcodes


class InvalidLanguage(ValueError):
    pass


def language_normalize(tag: str) -> str:
    """'swa' -> 'sw', 'SW_ke' -> 'sw-KE', 'luo' -> 'luo'; raises InvalidLanguage for unknown tags."""
    cleaned = (tag or "").strip().replace("_", "-")
    if not cleaned or not langcodes.tag_is_valid(cleaned):
        raise InvalidLanguage(f"'{tag}' is not a valid BCP 47 language tag.")
    standard = langcodes.standardize_tag(cleaned)
    language = langcodes.Language.get(standard)
    if not language.language or not language.is_valid():
        raise InvalidLanguage(f"'{tag}' is not a valid BCP 47 language tag.")
    return standard


def language_base(tag: str) -> str:
    """The base language subtag used for matching: 'sw-KE' and 'swa' both give 'sw'."""
    return langcodes.Language.get(language_normalize(tag)).language or ""
