"""API shapes. Serializers check types and ranges; services own the domain rules."""

from typing import Any

from django.db import models
from django_countries.serializer_fields import CountryField
from rest_framework import serializers

from config.limits import (
    INSTRUCTIONS_MAX,
    LABEL_MAX,
    MESSAGE_MAX,
    NAME_MAX,
    REASON_MAX,
    REFERENCE_MAX,
)
from crowd.api.fields import FiniteFloatField
from crowd.api.paging import page_serializer
from crowd.exports import decided_by
from crowd.model_loop.auto_accept import model_of_annotator
from crowd.models import Annotator, Assignment, Campaign, Item
from payments.money import from_minor
from workers.pseudonyms import pseudonym

MAX_LABELS = 500


class CampaignSerializer(serializers.ModelSerializer):
    # Every float of the campaign (confidence target, shares, acceptance policy) finite: "nan" passes any bound.
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.FloatField: FiniteFloatField,
    }
    reward = serializers.CharField(
        required=False, max_length=40, help_text='Decimal string per microtask, e.g. "0.50" (see docs/api.md).'
    )
    labels = serializers.JSONField(required=False, help_text='["a", "b"] or [{"value": "a", "text": "A"}]')
    languages = serializers.ListField(child=serializers.CharField(max_length=35), required=False, max_length=100)
    required_skills = serializers.DictField(child=serializers.IntegerField(min_value=1, max_value=5), required=False)
    translations = serializers.JSONField(
        required=False,
        help_text='Texts per language: {"sw": {"instructions": "...", "labels": {"symptom": "dalili"}}}. Workers see '
        "the version in their language; answers always store the label's value.",
    )
    organization = serializers.IntegerField(source="organization_id", required=False)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "organization",
            "name",
            "instructions",
            "translations",
            "task_type",
            "labels",
            "redundancy",
            "max_redundancy",
            "target_confidence",
            "items_per_task",
            "reward",
            "currency",
            "estimated_seconds",
            "languages",
            "required_skills",
            "lease_seconds",
            "gold_ratio",
            "visibility",
            "priority",
            "mode",
            "blind_share",
            "auto_accept",
            "accept_threshold",
            "accept_min_evidence",
            "accept_min_score",
            "accept_confirmations",
            "accept_audit_share",
            "accept_rule",
            "baseline",
            "order",
            "min_language_level",
            "min_quality",
            "min_quality_answers",
            "sensitive",
            "sensitive_daily_cap",
            "approval_hours",
            "auto_reject_on_gold",
            "auto_reject_min_gold_failed",
            "status",
            "created_at",
            "launched_at",
        ]
        read_only_fields = ["id", "status", "created_at", "launched_at"]
        extra_kwargs = {
            "name": {"required": True, "max_length": NAME_MAX},
            "instructions": {"max_length": INSTRUCTIONS_MAX},
        }

    def to_representation(self, campaign: Campaign) -> dict[str, Any]:
        data = super().to_representation(campaign)
        data["reward"] = from_minor(campaign.reward_minor, campaign.currency)
        # Read-only progress counts (items, microtasks, answers, complete_items, ...) sit at the top level.
        data.update(self.context.get("progress", {}))
        return data

    def validate_labels(self, value: Any) -> Any:
        # Shape and uniqueness are the service's rules; the sizes are checked here, before anything is stored.
        if isinstance(value, list):
            if len(value) > MAX_LABELS:
                raise serializers.ValidationError(f"At most {MAX_LABELS} labels.")
            for label in value:
                texts = [label] if isinstance(label, str) else list(label.values()) if isinstance(label, dict) else []
                if any(isinstance(text, str) and len(text) > LABEL_MAX for text in texts):
                    raise serializers.ValidationError(f"Label values and texts have at most {LABEL_MAX} characters.")
        return value

    def validate_required_skills(self, value: dict[str, int]) -> dict[str, int]:
        if len(value) > 50 or any(len(slug) > 50 for slug in value):
            raise serializers.ValidationError("At most 50 skills, each slug at most 50 characters.")
        return value

    def validate_lease_seconds(self, value: int) -> int:
        if not 30 <= value <= 24 * 3600:
            raise serializers.ValidationError("Between 30 seconds and 24 hours.")
        return value

    def validate_items_per_task(self, value: int) -> int:
        if not 1 <= value <= 100:
            raise serializers.ValidationError("Between 1 and 100.")
        return value

    def validate_redundancy(self, value: int) -> int:
        if not 1 <= value <= 50:
            raise serializers.ValidationError("Between 1 and 50.")
        return value

    def validate_max_redundancy(self, value: int) -> int:
        return self.validate_redundancy(value)


class ItemImportSerializer(serializers.Serializer):
    """Documentation only: the body is a JSON array of these, or a multipart `file`."""

    external_id = serializers.CharField(max_length=200)
    data = serializers.DictField(
        help_text="Strings up to 20,000 characters, nested at most 10 levels; `image` "
        "or `image_url` must be an http(s) URL or a stored media path."
    )
    language = serializers.CharField(required=False, max_length=35)
    prelabel = serializers.DictField(required=False)
    gold = serializers.JSONField(required=False)


class ItemFileSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="A .csv, .json or .jsonl file of items, or a Label Studio export (JSON, JSON_MIN or CSV)."
    )
    options = serializers.CharField(
        required=False,
        help_text='How to read the file, as JSON: {"mapping": {role: column}, "ignore": [columns], "trusted": bool, '
        '"from_name": text}. Roles: external_id, text, image, language, gold, prelabel, prelabel_score, '
        'prelabel_model; "" for none (for external_id: number the rows). Without a mapping, columns are taken by '
        "these names (and `id` as the external id). `trusted`: Label Studio annotations become gold, else "
        "pre-labels. `from_name`: the Label Studio control tag (column) holding the label.",
    )


class ImportPreviewSerializer(serializers.Serializer):
    format = serializers.ChoiceField(
        choices=["csv", "json", "jsonl", "labelstudio-json", "labelstudio-min", "labelstudio-csv"]
    )
    columns = serializers.ListField(child=serializers.CharField(), help_text="Flat formats: the columns found.")
    mapping = serializers.DictField(child=serializers.CharField(), help_text="Flat formats: role -> column in force.")
    from_name = serializers.CharField(allow_null=True, help_text="Label Studio CSV: the label column used.")
    rows = serializers.ListField(child=serializers.DictField(), help_text="The first 20 rows as they would be stored.")
    rows_checked = serializers.IntegerField()
    more = serializers.BooleanField(help_text="The file goes on past the rows checked.")
    errors = serializers.ListField(child=serializers.DictField(), help_text="{row, field, message}, at most 50.")
    error_count = serializers.IntegerField()
    notes = serializers.ListField(child=serializers.DictField(), help_text="{row, message}: read but not as asked.")


class ImportReportSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    skipped = serializers.IntegerField()


class PrelabelSerializer(serializers.Serializer):
    model = serializers.CharField()
    label = serializers.JSONField()
    score = serializers.FloatField(allow_null=True)


class AssignmentItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    data = serializers.DictField()
    prelabel = PrelabelSerializer(required=False, help_text="Only when the campaign shows model pre-labels.")
    image = serializers.DictField(
        allow_null=True,
        help_text="The image's phone-friendly copy, once made: `url`, `width`, `height` and `bytes` "
        "(null until then, or when the item has no image); `data` keeps the original.",
    )


class AssignmentSerializer(serializers.Serializer):
    """The schema of a lease as `next` returns it; the view builds the body itself from the claim's payload
    (`crowd/api/views.py::_assignment_body`), and tests/test_openapi.py holds the two together."""

    id = serializers.IntegerField()
    campaign = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Assignment.Status.choices)
    expires_at = serializers.DateTimeField()
    reward = serializers.CharField(help_text='Decimal amount in `currency`, e.g. "0.10".')
    currency = serializers.CharField()
    instructions = serializers.CharField(help_text="In the requested language when the campaign has it.")
    task_type = serializers.CharField()
    labels = serializers.JSONField(
        help_text="Texts in the requested language when the campaign has them; answer with `value`."
    )
    language = serializers.CharField(
        allow_null=True, help_text="The campaign translation shown (from Accept-Language), or null for its own texts."
    )
    items = AssignmentItemSerializer(many=True)
    queued = serializers.BooleanField(
        help_text="Fetched ahead (`ahead: true`) behind the current lease: it becomes current, its clock starting, "
        "when the current one is submitted or given back, or at its first heartbeat once none is current."
    )


class NoWorkReasonSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The same code `next` sends in its Crowdloop-Reason header.")
    message = serializers.CharField()


class SubmitResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Assignment.Status.choices)
    replayed = serializers.BooleanField(help_text="True when this exact submission was already stored.")
    late = serializers.BooleanField(
        help_text="True when the lease had run out but its slot was still free, so the answers were kept and paid."
    )
    next = AssignmentSerializer(
        required=False, allow_null=True, help_text='Only with `"next": true`: the next lease, or null.'
    )
    reason = NoWorkReasonSerializer(
        required=False, allow_null=True, help_text='Only with `"next": true` and no lease: why there is none.'
    )


class AnswerInSerializer(serializers.Serializer):
    item = serializers.IntegerField()
    label = serializers.JSONField()


class SubmitSerializer(serializers.Serializer):
    answers = AnswerInSerializer(many=True)
    next = serializers.BooleanField(
        required=False, default=False, help_text="Also lease the next microtask and return it as `next`."
    )


class ReleaseSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=["skip", "unclear", "offensive"], required=False, allow_blank=True)


class ResultSerializer(serializers.ModelSerializer):
    item = serializers.IntegerField(source="id")
    label = serializers.JSONField(source="result_label")
    answers = serializers.IntegerField(source="answer_count")
    decided_by = serializers.SerializerMethodField(
        help_text="Who set the final label (email), when a coordinator decided it; null for the crowd's label."
    )
    decided_at = serializers.DateTimeField(source="expert_at", allow_null=True)
    accepted_on_model = serializers.SerializerMethodField(
        help_text="The model whose label was accepted on evidence, with fewer or no human answers; null when "
        "people's answers (or a coordinator) decided the label."
    )

    class Meta:
        model = Item
        fields = [
            *("item", "external_id", "label", "confidence", "answers", "status", "votes"),
            *("decided_by", "decided_at", "accepted_on_model"),
        ]

    def get_accepted_on_model(self, item: Item) -> str | None:
        return item.accepted_model or None

    def get_decided_by(self, item: Item) -> str | None:
        return decided_by(item)


class UnsureItemSerializer(serializers.ModelSerializer):
    item = serializers.IntegerField(source="id")
    label = serializers.JSONField(source="result_label")
    answers = serializers.IntegerField(source="answer_count")

    class Meta:
        model = Item
        fields = ["item", "external_id", "data", "language", "label", "confidence", "answers", "votes", "status"]


UnsurePageSerializer = page_serializer(
    "UnsurePageSerializer",
    UnsureItemSerializer(many=True),
    keyed=True,
    count=serializers.IntegerField(help_text="How many items match in all, on every page."),
)


class ItemDecideSerializer(serializers.Serializer):
    label = serializers.JSONField(help_text="One label value; a list of them for multi-choice; text for free text.")


class ResultsPageSerializer(serializers.Serializer):
    results = ResultSerializer(many=True)
    next_cursor = serializers.IntegerField(allow_null=True, help_text="Pass as `cursor` for the next page.")
    next = serializers.URLField(allow_null=True, help_text="The next page's URL; null on the last page.")


class ExportRecordSerializer(serializers.Serializer):
    """One exported item; its other fields depend on the format (see docs/api.md)."""

    data = serializers.DictField()


class LanguageLevelSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=35)
    level = serializers.IntegerField(min_value=1, max_value=5)


class SkillLevelSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=50)
    level = serializers.IntegerField(min_value=1, max_value=5)


class WorkerEnrollSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]{1,150}$", max_length=150)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    country = CountryField(required=False, allow_blank=True)
    languages = LanguageLevelSerializer(many=True, max_length=50)
    skills = SkillLevelSerializer(many=True, required=False, max_length=50)
    organization = serializers.IntegerField(required=False)


class WorkerEnrolledSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    token = serializers.CharField()


class LoginLinkSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="Opens a page with one button that signs the worker in; works once.")
    code = serializers.CharField(help_text="8 digits, typed with the username at /accounts/code/; works once.")
    expires_at = serializers.DateTimeField()


class WorkerTokenSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    token = serializers.CharField(help_text="Shown once; every earlier token of the worker no longer works.")


class DepositSerializer(serializers.Serializer):
    amount = serializers.CharField(max_length=40, help_text='Decimal string, e.g. "250.00" (see docs/api.md).')
    currency = serializers.CharField(max_length=3)
    reference = serializers.CharField(max_length=REFERENCE_MAX)
    organization = serializers.IntegerField(required=False)


class DepositResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    reference = serializers.CharField()


class BlockSerializer(serializers.Serializer):
    worker = serializers.CharField(
        max_length=40, help_text="The worker's pseudonym, or the id returned when the organization enrolled them."
    )
    reason = serializers.CharField(max_length=REASON_MAX)
    organization = serializers.IntegerField(required=False, write_only=True)


class BlockOutSerializer(serializers.Serializer):
    """A block as the API shows it (built by `_block_body`)."""

    worker = serializers.CharField(help_text="The worker's pseudonym in this organization.")
    campaign = serializers.IntegerField(allow_null=True, help_text="Null for a block across the organization.")
    organization = serializers.IntegerField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class AnnotatorSerializer(serializers.ModelSerializer):
    """A worker appears by the organization's pseudonym for them (workers/pseudonyms.py), never by name or id."""

    worker = serializers.SerializerMethodField(
        help_text="The worker's pseudonym in this organization; null for a model."
    )
    name = serializers.SerializerMethodField(help_text="The model's name, or the worker's pseudonym.")
    model_kind = serializers.SerializerMethodField(
        help_text="Models only: `imported`, `backend` or `builtin` (the organization's model list, GET /models/)."
    )
    version = serializers.SerializerMethodField(help_text="Models only: the version after `@` in its name.")

    class Meta:
        model = Annotator
        fields = [
            "kind",
            "worker",
            "model_name",
            "name",
            "model_kind",
            "version",
            "accuracy",
            "answers",
            "confusion",
            "updated_at",
        ]

    def get_worker(self, annotator: Annotator) -> str | None:
        if annotator.kind == Annotator.Kind.MODEL or annotator.worker_id is None:
            return None
        return pseudonym(self.context["organization_id"], annotator.worker_id)

    def get_name(self, annotator: Annotator) -> str:
        return annotator.model_name if annotator.kind == Annotator.Kind.MODEL else self.get_worker(annotator) or ""

    def get_model_kind(self, annotator: Annotator) -> str | None:
        model = self.context.get("models", {}).get(model_of_annotator(annotator.model_name))
        return model.kind if model is not None and annotator.kind == Annotator.Kind.MODEL else None

    def get_version(self, annotator: Annotator) -> str | None:
        if annotator.kind != Annotator.Kind.MODEL:
            return None
        name, at, version = model_of_annotator(annotator.model_name).rpartition("@")
        return version if at and name and version else None


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX, help_text="Shown to the worker.")


class AppealSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=MESSAGE_MAX)


class AppealOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    assignment = serializers.IntegerField()
    campaign = serializers.IntegerField()
    worker = serializers.CharField(help_text="The worker's pseudonym in this organization.")
    reject_reason = serializers.CharField()
    message = serializers.CharField()
    status = serializers.CharField()
    decision_note = serializers.CharField()
    created_at = serializers.DateTimeField()


class AppealDecisionSerializer(serializers.Serializer):
    overturn = serializers.BooleanField(help_text="true: accept the work and pay it; false: keep the rejection.")
    note = serializers.CharField(max_length=REASON_MAX, required=False, allow_blank=True)


class PayoutSerializer(serializers.Serializer):
    currency = serializers.CharField(max_length=3)
    threshold = serializers.CharField(max_length=40, help_text='Pay only balances of at least this much, e.g. "5.00".')
    reference = serializers.CharField(max_length=120, help_text="Your reference; the same one again is a no-op.")
    organization = serializers.IntegerField(required=False)


class PayoutBatchSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    status = serializers.CharField(help_text="`exported`, `paid` or `cancelled`.")
    workers = serializers.IntegerField()
    total = serializers.CharField()
    currency = serializers.CharField()
    threshold = serializers.CharField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class ImportJobSerializer(serializers.Serializer):
    """The schema of a background import as `GET /imports/{id}/` returns it (built by `_import_job_body`)."""

    id = serializers.IntegerField()
    campaign = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["preview", "queued", "running", "finished", "failed"])
    filename = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes in the uploaded file.")
    rows_read = serializers.IntegerField(help_text="So far, while it runs.")
    bytes_read = serializers.IntegerField(help_text="So far, while it runs: the share of `size` done.")
    created = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="Rows whose external_id the campaign had already.")
    error_count = serializers.IntegerField()
    errors = serializers.JSONField(help_text="The first 50 row errors of a failed import: {row, field, message}.")
    error_code = serializers.CharField(allow_null=True)
    message = serializers.CharField(allow_null=True)
    note_count = serializers.IntegerField(help_text="Rows read but not used as asked (e.g. disagreeing annotations).")
    notes = serializers.JSONField(help_text="The first 50 of them: {row, message}.")
    options = serializers.JSONField(help_text="How the file was read (see the upload's `options`).")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class SubmissionAnswerSerializer(serializers.Serializer):
    item = serializers.IntegerField()
    external_id = serializers.CharField()
    label = serializers.JSONField(help_text="What the worker answered.")
    gold = serializers.JSONField(allow_null=True, help_text="The check item's known label; null on other items.")
    result_label = serializers.JSONField(allow_null=True, help_text="The item's current label.")
    confidence = serializers.FloatField(allow_null=True)


class SubmissionSerializer(serializers.Serializer):
    """One piece of submitted work (crowd/submissions.py::submission_body)."""

    id = serializers.IntegerField()
    worker = serializers.CharField(help_text="The worker's pseudonym in this organization.")
    worker_quality = serializers.FloatField(allow_null=True)
    status = serializers.ChoiceField(choices=["submitted", "approved", "rejected"])
    submitted_at = serializers.DateTimeField(allow_null=True)
    seconds_on_task = serializers.FloatField(allow_null=True)
    reward = serializers.CharField(help_text="A decimal string in the currency, as every amount in the API.")
    currency = serializers.CharField()
    reject_reason = serializers.CharField(allow_null=True)
    failed_gold = serializers.BooleanField()
    answers = SubmissionAnswerSerializer(many=True)


SubmissionPageSerializer = page_serializer("SubmissionPageSerializer", SubmissionSerializer(many=True))
