"""Bodies of /api/v1/webhooks/: what a subscription takes, what it shows (its secret only once), its delivery log."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crowd.api.paging import page_serializer
from crowd.models import WebhookDelivery, WebhookSubscription
from crowd.webhooks.delivery import URL_MAX_LENGTH
from crowd.webhooks.events import EVENT_TYPES
from crowd.webhooks.services import SECRET_MAX_LENGTH, SECRET_MIN_LENGTH


class WebhookInSerializer(serializers.Serializer):
    url = serializers.CharField(
        max_length=URL_MAX_LENGTH,
        help_text="Where events are POSTed: https:// (plain http:// only where the deployment allows it); never a "
        "private, loopback or link-local address.",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), min_length=1, max_length=len(EVENT_TYPES)
    )
    secret = serializers.CharField(
        min_length=SECRET_MIN_LENGTH,
        max_length=SECRET_MAX_LENGTH,
        required=False,
        write_only=True,
        help_text="The signing secret; generated when not given. Shown only in the response that creates it.",
    )
    active = serializers.BooleanField(required=False)
    organization = serializers.IntegerField(
        required=False, min_value=1, help_text="Needed only by members of several organizations."
    )


class WebhookSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookSubscription
        fields = ["id", "organization", "url", "events", "active", "disabled_at", "disabled_reason", "created_at"]
        read_only_fields = fields


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(help_text="Shown only now: keep it to verify X-Crowdloop-Signature.")

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event = serializers.SerializerMethodField()
    type = serializers.SerializerMethodField()
    next_attempt_at = serializers.SerializerMethodField()

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "type",
            "status",
            "attempts",
            "response_code",
            "duration_ms",
            "last_error",
            "is_test",
            "created_at",
            "last_attempt_at",
            "next_attempt_at",
        ]
        read_only_fields = fields

    def get_event(self, delivery: WebhookDelivery) -> str:
        """The event id (X-Crowdloop-Event-Id)."""
        return str(delivery.event.uid)

    def get_type(self, delivery: WebhookDelivery) -> str:
        return delivery.event.type

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_attempt_at(self, delivery: WebhookDelivery) -> Any:
        """When the next try is due, while the delivery is pending; null otherwise."""
        if delivery.status != WebhookDelivery.Status.PENDING:
            return None
        return serializers.DateTimeField().to_representation(delivery.next_attempt_at)


WebhookDeliveryPageSerializer = page_serializer("WebhookDeliveryPageSerializer", WebhookDeliverySerializer(many=True))
