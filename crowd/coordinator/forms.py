"""The campaign form: the page's inputs turned into the API's campaign body, validated by the same serializer and
written by the same services, so a campaign made on the web and one made through the API obey one set of rules."""

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from crowd.api.serializers import CampaignSerializer
from crowd.models import Campaign
from workers.languages import InvalidLanguage, language_from_input, language_label

# Label rows shown beyond those a campaign has, so the editor works without a script (which adds rows on demand).
EMPTY_LABEL_ROWS = 3
TRANSLATION_ROWS_EXTRA = 1

# The API's campaign fields that take one value; labels, languages, skills and translations have their own editors.
NOT_SCALAR = {"id", "organization", "labels", "languages", "required_skills", "translations", "status"}
SCALAR_FIELDS = tuple(
    name
    for name in CampaignSerializer.Meta.fields
    if name not in NOT_SCALAR and name not in CampaignSerializer.Meta.read_only_fields
)


class CampaignForm(forms.Form):
    """The campaign's single-valued fields, rendered and parsed by Django; the serializer has the last word."""

    name = forms.CharField(label=_("Name"), max_length=200)
    instructions = forms.CharField(
        label=_("Instructions for workers"), widget=forms.Textarea(attrs={"rows": 5}), required=False
    )
    task_type = forms.ChoiceField(
        label=_("Kind of task"),
        choices=[
            ("single_choice", _("Choose one label")),
            ("multi_choice", _("Choose any number of labels")),
            ("free_text", _("Type a short answer")),
        ],
    )
    reward = forms.DecimalField(label=_("Pay per microtask"), min_value=Decimal("0"), decimal_places=4)
    currency = forms.CharField(label=_("Currency"), max_length=3, min_length=3)
    estimated_seconds = forms.IntegerField(label=_("Expected seconds per microtask"), min_value=1)
    redundancy = forms.IntegerField(label=_("Answers per item"), min_value=1, max_value=50)
    max_redundancy = forms.IntegerField(label=_("Most answers per item when workers disagree"), min_value=1)
    target_confidence = forms.FloatField(label=_("Confidence to stop asking"), min_value=0.5, max_value=1)
    items_per_task = forms.IntegerField(label=_("Items per microtask"), min_value=1, max_value=100)
    lease_seconds = forms.IntegerField(label=_("Seconds a worker has for a microtask"), min_value=30)
    gold_ratio = forms.FloatField(label=_("Share of check items (gold)"), min_value=0, max_value=1)
    visibility = forms.ChoiceField(
        label=_("Who can work on it"),
        choices=[("public", _("Any registered worker")), ("private", _("Only workers this organization enrolled"))],
    )
    priority = forms.IntegerField(label=_("Priority (higher first)"))
    order = forms.ChoiceField(
        label=_("Order of work"),
        choices=[
            ("depth_first", _("Finish items before starting new ones")),
            ("breadth_first", _("Spread answers over many items")),
            ("uncertainty_first", _("Least certain items first (model scores, then the answers so far)")),
        ],
    )
    min_language_level = forms.IntegerField(label=_("Lowest language level (1 to 5)"), min_value=1, max_value=5)
    # Empty: no quality floor (the campaign takes every worker whatever their record).
    min_quality = forms.FloatField(label=_("Lowest worker quality (0 to 1)"), min_value=0, max_value=1, required=False)
    min_quality_answers = forms.IntegerField(label=_("Answers before quality counts"), min_value=0)
    approval_hours = forms.IntegerField(label=_("Hours before work is approved automatically"), min_value=0)
    sensitive = forms.BooleanField(label=_("Sensitive content (workers opt in)"), required=False)
    sensitive_daily_cap = forms.IntegerField(label=_("Sensitive microtasks per worker per day"), min_value=1)
    mode = forms.ChoiceField(
        label=_("Task mode"),
        choices=[
            ("label", _("Label: workers never see a model's suggestion")),
            ("review", _("Review: workers confirm or correct the model's suggestion")),
        ],
    )
    blind_share = forms.FloatField(
        label=_("Review mode: share of items shown without the suggestion (0 to 1)"), min_value=0, max_value=1
    )
    auto_accept = forms.BooleanField(label=_("Accept a model's labels where it has proven reliable"), required=False)
    accept_threshold = forms.FloatField(
        label=_("Precision the model must have shown, at the least (0 to 1)"), min_value=0, max_value=1
    )
    accept_min_evidence = forms.IntegerField(label=_("Checked items needed per label before accepting"), min_value=1)
    accept_min_score = forms.FloatField(
        label=_("Lowest model score for an accepted label (0 to 1)"), min_value=0, max_value=1
    )
    accept_confirmations = forms.ChoiceField(
        label=_("People who still confirm an accepted label"),
        choices=[("1", _("One person confirms it")), ("0", _("Nobody: the model's label stands"))],
    )
    accept_audit_share = forms.FloatField(
        label=_("Share of acceptable items still sent to people, to keep measuring the model (0 to 1)"),
        min_value=0,
        max_value=1,
    )
    accept_rule = forms.ChoiceField(
        label=_("How sure the evidence must be"),
        choices=[
            ("lower_bound", _("Cautious: the evidence must show the model is above that precision, 95 times in 100")),
            ("estimate", _("Estimate: the model's estimated precision must reach it (accepts sooner, may err)")),
        ],
    )
    baseline = forms.BooleanField(
        label=_("Built-in baseline: a text model trained on this campaign's confident labels pre-labels open items"),
        required=False,
    )
    auto_reject_on_gold = forms.BooleanField(label=_("Reject work that fails check items"), required=False)
    auto_reject_min_gold_failed = forms.IntegerField(label=_("Failed check items before a rejection"), min_value=2)


def initial_for(campaign: Campaign) -> dict[str, Any]:
    from payments.money import from_minor

    initial = {name: getattr(campaign, name) for name in SCALAR_FIELDS if name != "reward"}
    initial["reward"] = from_minor(campaign.reward_minor, campaign.currency)
    return initial


LANGUAGE_ROWS = 6
SKILL_ROWS = 4


def language_rows(languages: list[str], interface: str) -> list[str]:
    """The language inputs: each language as a suggestion shows it ("Kiswahili (sw)"), then empty ones."""
    shown = [language_label(tag, interface) for tag in languages]
    return shown + [""] * max(LANGUAGE_ROWS - len(shown), 1)


def skill_rows(skills: dict[str, int]) -> list[tuple[str, int]]:
    rows = list(skills.items())
    return rows + [("", 3)] * max(SKILL_ROWS - len(rows), 1)


def languages_from_post(post: QueryDict) -> tuple[list[str], str | None]:
    """Tags from what was typed: a tag or a name in any language; or an error naming what was not understood."""
    tags: list[str] = []
    for typed in post.getlist("language"):
        if not typed.strip():
            continue
        try:
            tag = language_from_input(typed)
        except InvalidLanguage:
            return [], str(_("“%(typed)s” is not a language we know. Type its name or its code.") % {"typed": typed})
        if tag not in tags:
            tags.append(tag)
    return tags, None


def skills_from_post(post: QueryDict) -> tuple[dict[str, int], str | None]:
    skills: dict[str, int] = {}
    levels = post.getlist("skill_level")
    for index, slug in enumerate(post.getlist("skill")):
        slug = slug.strip()
        if not slug:
            continue
        try:
            level = int(levels[index]) if index < len(levels) else 1
        except ValueError:
            level = 0
        if not 1 <= level <= 5:
            return {}, str(_("A skill's level is from 1 to 5."))
        if slug in skills:  # one level would be kept and the other dropped without a word
            return {}, str(_("“%(skill)s” is listed twice: keep one row, with the level it needs.") % {"skill": slug})
        skills[slug] = level
    return skills, None


def labels_from_post(post: QueryDict) -> list[dict[str, str]]:
    """Label rows in the order their positions say (ties keep the page's order); empty rows are dropped."""
    values, texts, positions = post.getlist("label_value"), post.getlist("label_text"), post.getlist("label_position")
    rows = []
    for index, value in enumerate(values):
        value = value.strip()
        text = (texts[index] if index < len(texts) else "").strip()
        if not value and not text:
            continue
        try:
            position = float(positions[index]) if index < len(positions) and positions[index] else index
        except ValueError:
            position = index
        if not math.isfinite(position):  # "nan" compares false to everything and would scramble the sort
            position = index
        rows.append((position, index, {"value": value or text, "text": text or value}))
    return [row for _, _, row in sorted(rows, key=lambda r: (r[0], r[1]))]


def label_rows(labels: list[dict[str, str]]) -> list[dict[str, Any]]:
    """What the editor shows: the labels, then a few empty rows."""
    rows = [{"value": label["value"], "text": label["text"], "position": n + 1} for n, label in enumerate(labels)]
    start = len(rows)
    rows += [{"value": "", "text": "", "position": start + n + 1} for n in range(EMPTY_LABEL_ROWS)]
    return rows


def translations_from_post(post: QueryDict, labels: list[dict[str, str]]) -> dict[str, Any]:
    """{"sw": {"instructions": ..., "labels": {value: text}}} from the translation blocks; blank blocks dropped."""
    return dict(posted_translations(post, labels))


def posted_translations(post: QueryDict, labels: list[dict[str, str]]) -> list[tuple[str, dict[str, Any]]]:
    """The translation blocks as posted, in order, blank ones dropped: two blocks for one language stay two, so a
    refused form shows the coordinator both texts again instead of losing one."""
    result: list[tuple[str, dict[str, Any]]] = []
    for index, language in enumerate(post.getlist("translation_language")):
        language = language.strip()
        if not language:
            continue
        entry: dict[str, Any] = {}
        instructions = post.getlist("translation_instructions")
        if index < len(instructions) and instructions[index].strip():
            entry["instructions"] = instructions[index].strip()
        texts = {}
        for label in labels:
            values = post.getlist(f"translation_label_{label['value']}")
            if index < len(values) and values[index].strip():
                texts[label["value"]] = values[index].strip()
        if texts:
            entry["labels"] = texts
        result.append((language, entry))
    return result


def translation_blocks(
    translations: Mapping[str, Any] | list[tuple[str, Any]], labels: list[dict[str, str]]
) -> list[dict[str, Any]]:
    pairs = translations.items() if isinstance(translations, Mapping) else translations
    blocks = [
        {
            "language": language,
            "instructions": entry.get("instructions", ""),
            "labels": [(label, entry.get("labels", {}).get(label["value"], "")) for label in labels],
        }
        for language, entry in pairs
    ]
    blocks += [
        {"language": "", "instructions": "", "labels": [(label, "") for label in labels]}
        for _ in range(TRANSLATION_ROWS_EXTRA)
    ]
    return blocks


def campaign_payload(
    form: CampaignForm, post: QueryDict, fixed_labels: list[dict[str, str]] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The API body the form describes, and the problems found before the serializer sees it. `fixed_labels`: a
    launched campaign's labels, which no longer change (translations are checked against them)."""
    data: dict[str, Any] = {name: form.cleaned_data[name] for name in SCALAR_FIELDS if name in form.cleaned_data}
    errors: dict[str, str] = {}
    if "reward" in data:
        data["reward"] = str(data["reward"])
    if "currency" in data:
        data["currency"] = data["currency"].upper()
    labels = fixed_labels if fixed_labels is not None else labels_from_post(post)
    data["labels"] = labels
    data["languages"], problem = languages_from_post(post)
    if problem:
        errors["languages"] = problem
    data["required_skills"], problem = skills_from_post(post)
    if problem:
        errors["required_skills"] = problem
    data["translations"] = translations_from_post(post, labels)
    # Two blocks for one language would become one entry (the last) before the serializer could see them.
    typed = [language.strip().lower() for language in post.getlist("translation_language") if language.strip()]
    repeated = sorted({language for language in typed if typed.count(language) > 1})
    if repeated:
        errors["translations"] = str(
            _("Two translations are for one language: %(language)s.") % {"language": ", ".join(repeated)}
        )
    return data, errors
