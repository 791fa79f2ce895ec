"""API shapes of models in the loop: the organization's models, a campaign's ML backends, its baseline runs."""

from django.utils.translation import gettext as _
from rest_framework import serializers

from crowd.api.fields import FiniteFloatField
from crowd.api.paging import page_serializer
from crowd.models import BaselineRun, LabelModel, MLBackend


class LabelModelSerializer(serializers.ModelSerializer):
    key = serializers.CharField(
        read_only=True, help_text="What items' `prelabel_model` and annotators' `model_name` hold: `name@version`."
    )

    class Meta:
        model = LabelModel
        fields = ["id", "organization", "name", "version", "key", "kind", "created_at"]


LabelModelPageSerializer = page_serializer("LabelModelPageSerializer", LabelModelSerializer(many=True))


class BackendInSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=500, help_text="The backend's base URL; /health, /predict, /train below it.")
    name = serializers.RegexField(
        r"^[^@\s][^@]*$",
        max_length=100,
        required=False,
        help_text="Names its pre-labels (`name@model_version`); the URL's host when left out. No `@`.",
    )
    active = serializers.BooleanField(required=False, default=True)
    batch_size = serializers.IntegerField(min_value=1, max_value=500, required=False, help_text="Items per /predict.")
    timeout = FiniteFloatField(min_value=1, max_value=60, required=False, help_text="Seconds per call.")


class BackendPatchSerializer(BackendInSerializer):
    url = serializers.CharField(max_length=500, required=False)
    active = serializers.BooleanField(required=False)

    def validate(self, attrs):
        if "name" in attrs:
            raise serializers.ValidationError({"name": _("Read-only: it names the backend's pre-labels.")})
        return attrs


class BackendSerializer(serializers.ModelSerializer):
    timeout = serializers.FloatField(source="timeout_seconds")

    class Meta:
        model = MLBackend
        fields = [
            "id",
            "campaign",
            "name",
            "url",
            "active",
            "batch_size",
            "timeout",
            "model_version",
            "supports_training",
            "status",
            "last_error",
            "last_error_at",
            "last_success_at",
            "items_predicted",
            "items_rejected",
            "last_trained_at",
            "created_at",
        ]


class BaselineRunSerializer(serializers.ModelSerializer):
    model = serializers.SerializerMethodField(help_text="The pre-labels' model: `crowdloop-baseline@<version>`.")

    class Meta:
        model = BaselineRun
        fields = ["version", "model", "trained_on", "held_out", "accuracy", "items_labelled", "created_at"]

    def get_model(self, run: BaselineRun) -> str:
        return f"crowdloop-baseline@{run.version}"
