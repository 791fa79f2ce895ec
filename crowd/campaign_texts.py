"""A campaign's instructions and label texts in the worker's language.

`Campaign.translations` is `{"sw": {"instructions": "...", "labels": {"symptom": "dalili"}}}`. A worker sees the
version for their interface language when there is one (an exact tag first, then its base language), otherwise
the campaign's own texts. Only texts are translated: the answer stored is always the label's value.
"""

from typing import Any

from django.utils.translation import gettext as _

from config.errors import ValidationFailed
from config.limits import INSTRUCTIONS_MAX
from workers.languages import InvalidLanguage, language_normalize

LABEL_TEXT_MAX = 200
MAX_TRANSLATIONS = 50


def translations_normalize(translations: Any, labels: list[dict[str, str]]) -> dict[str, dict[str, Any]]:
    """Validated translations with normalized language tags; raises ValidationFailed naming the bad part."""
    if not isinstance(translations, dict) or len(translations) > MAX_TRANSLATIONS:
        raise ValidationFailed(
            _("Translations must map language tags to texts."),
            fields={
                "translations": _("An object of language tags, at most %(count)s languages.")
                % {"count": MAX_TRANSLATIONS}
            },
        )
    values = {label["value"] for label in labels}
    result: dict[str, dict[str, Any]] = {}
    for tag, texts in translations.items():
        where = f"translations.{tag}"
        try:
            language = language_normalize(str(tag))
        except InvalidLanguage as exc:
            raise ValidationFailed(str(exc), fields={where: _("Not a BCP 47 language tag.")}) from exc
        if language in result:  # "sw" and "SW", say: keeping one would drop the other's texts without a word
            raise ValidationFailed(
                _("Two translations are for one language: %(language)s.") % {"language": language},
                fields={where: _("Another translation is for this language.")},
            )
        if not isinstance(texts, dict) or set(texts) - {"instructions", "labels"}:
            raise ValidationFailed(
                _("Each translation has `instructions` and/or `labels`."), fields={where: _("Unexpected keys.")}
            )
        entry: dict[str, Any] = {}
        instructions = texts.get("instructions")
        if instructions is not None:
            if not isinstance(instructions, str) or len(instructions) > INSTRUCTIONS_MAX:
                raise ValidationFailed(
                    _("Translated instructions must be text."),
                    fields={
                        f"{where}.instructions": _("Text of at most %(count)s characters.")
                        % {"count": INSTRUCTIONS_MAX}
                    },
                )
            entry["instructions"] = instructions
        label_texts = texts.get("labels", {})
        if not isinstance(label_texts, dict):
            raise ValidationFailed(
                _("Translated labels map values to texts."), fields={f"{where}.labels": _("Expected an object.")}
            )
        for value, text in label_texts.items():
            if value not in values:
                raise ValidationFailed(
                    _("'%(value)s' is not one of the campaign's label values.") % {"value": value},
                    fields={f"{where}.labels.{value}": _("Not a label value of this campaign.")},
                )
            if not isinstance(text, str) or not text.strip() or len(text) > LABEL_TEXT_MAX:
                raise ValidationFailed(
                    _("Translated label texts must be short text."),
                    fields={
                        f"{where}.labels.{value}": _("Text of 1 to %(count)s characters.") % {"count": LABEL_TEXT_MAX}
                    },
                )
        if label_texts:
            entry["labels"] = dict(label_texts)
        result[language] = entry
    return result


def _pick(translations: dict[str, dict[str, Any]], language: str) -> tuple[str, dict[str, Any]]:
    if not language:
        return "", {}
    if language in translations:
        return language, translations[language]
    base = language.split("-")[0]
    if base in translations:
        return base, translations[base]
    return "", {}


def localized_texts(
    *, instructions: str, labels: list[dict[str, str]], translations: dict[str, Any] | None, language: str
) -> tuple[str, list[dict[str, str]], str]:
    """(instructions, labels with translated `text`, the language used or "" for the campaign's own texts)."""
    used, entry = _pick(translations or {}, language)
    label_texts = entry.get("labels", {})
    shown = [{"value": label["value"], "text": label_texts.get(label["value"], label["text"])} for label in labels]
    return entry.get("instructions") or instructions, shown, used
