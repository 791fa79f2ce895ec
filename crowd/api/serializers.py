"""API shapes. Serializers check types and ranges; services own the domain rules."""

from typing import Any

from django_countries.serializer_fields import CountryField
from rest_framework import serializers

from crowd.models import Annotator, Assignment, Campaign, Item
from payments.money import from_minor


class CampaignSerializer(serializers.ModelSerializer):
    reward = serializers.CharField(required=False, help_text='Decimal string per microtask, e.g. "0.50".')
    labels = serializers.JSONField(required=False, help_text='["a", "b"] or [{"value": "a", "text": "A"}]')
    languages = serializers.ListField(child=serializers.CharField(max_length=35), required=False)
    required_skills = serializers.DictField(child=serializers.IntegerField(min_value=1, max_value=5), required=False)
    organization = serializers.IntegerField(source="organization_id", required=False)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "organization",
            "name",
            "instructions",
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
            "show_prelabels",
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
        extra_kwargs = {"name": {"required": True}}

    def to_representation(self, campaign: Campaign) -> dict[str, Any]:
        data = super().to_representation(campaign)
        data["reward"] = from_minor(campaign.reward_minor, campaign.currency)
        # Read-only progress counts (items, microtasks, answers, complete_items, ...) sit at the top level.
        data.update(self.context.get("progress", {}))
        return data

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

    external_id = serializers.CharField()
    data = serializers.DictField()
    language = serializers.CharField(required=False)
    prelabel = serializers.DictField(required=False)
    gold = serializers.JSONField(required=False)


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


class AssignmentSerializer(serializers.Serializer):
    """The schema of a lease as `next` returns it; the view builds the body itself from the claim's payload
    (`crowd/api/views.py::_assignment_body`), and tests/test_openapi.py holds the two together."""

    id = serializers.IntegerField()
    campaign = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Assignment.Status.choices)
    expires_at = serializers.DateTimeField()
    reward = serializers.CharField(help_text='Decimal amount in `currency`, e.g. "0.10".')
    currency = serializers.CharField()
    instructions = serializers.CharField()
    task_type = serializers.CharField()
    labels = serializers.JSONField()
    items = AssignmentItemSerializer(many=True)


class SubmitResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Assignment.Status.choices)
    replayed = serializers.BooleanField(help_text="True when this exact submission was already stored.")


class AnswerInSerializer(serializers.Serializer):
    item = serializers.IntegerField()
    label = serializers.JSONField()


class SubmitSerializer(serializers.Serializer):
    answers = AnswerInSerializer(many=True)


class ReleaseSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=["skip", "unclear", "offensive"], required=False, allow_blank=True)


class ResultSerializer(serializers.ModelSerializer):
    item = serializers.IntegerField(source="id")
    label = serializers.JSONField(source="result_label")
    answers = serializers.IntegerField(source="answer_count")

    class Meta:
        model = Item
        fields = ["item", "external_id", "label", "confidence", "answers", "status", "votes"]


class LanguageLevelSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=35)
    level = serializers.IntegerField(min_value=1, max_value=5)


class SkillLevelSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=50)
    level = serializers.IntegerField(min_value=1, max_value=5)


class WorkerEnrollSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]{1,150}$")
    email = serializers.EmailField(required=False, allow_blank=True)
    country = CountryField(required=False, allow_blank=True)
    languages = LanguageLevelSerializer(many=True)
    skills = SkillLevelSerializer(many=True, required=False)
    organization = serializers.IntegerField(required=False)


class WorkerEnrolledSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    token = serializers.CharField()


class DepositSerializer(serializers.Serializer):
    amount = serializers.CharField()
    currency = serializers.CharField(max_length=3)
    reference = serializers.CharField(max_length=200)
    organization = serializers.IntegerField(required=False)


class DepositResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    reference = serializers.CharField()


class BlockSerializer(serializers.Serializer):
    worker = serializers.IntegerField(help_text="The worker's id (as returned when enrolled).")
    reason = serializers.CharField(max_length=2000)
    organization = serializers.IntegerField(required=False, write_only=True)


class AnnotatorSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()

    class Meta:
        model = Annotator
        fields = ["kind", "worker", "model_name", "name", "accuracy", "answers", "confusion", "updated_at"]

    def get_name(self, annotator: Annotator) -> str:
        return annotator.model_name if annotator.kind == Annotator.Kind.MODEL else annotator.worker.username


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Shown to the worker.")


class AppealSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=4000)


class AppealDecisionSerializer(serializers.Serializer):
    overturn = serializers.BooleanField(help_text="true: accept the work and pay it; false: keep the rejection.")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class PayoutSerializer(serializers.Serializer):
    currency = serializers.CharField(max_length=3)
    threshold = serializers.CharField(help_text='Pay only balances of at least this much, e.g. "5.00".')
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
