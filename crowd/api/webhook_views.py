"""/api/v1/webhooks/: signed event deliveries (docs/webhooks.md). Owners and coordinators change subscriptions;
every member may read them and their delivery log. A secret is shown once, in the response that creates it."""

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crowd.api import webhook_serializers as s
from crowd.api.filters import DeliveryFilter, WebhookFilter
from crowd.api.paging import cursor_page, cursor_parameters, filter_parameters, filtered, page_serializer
from crowd.api.views import _int_param
from crowd.exceptions import PermissionDenied, ValidationFailed
from crowd.selectors import Actor
from crowd.webhooks import selectors
from crowd.webhooks.services import webhook_create, webhook_delete, webhook_test_send, webhook_update

DELIVERIES_PAGE = 50
DELIVERIES_PAGE_MAX = 200
BIGINT_MAX = 2**63 - 1  # ids are bigints: a larger id is a 400, not a database error

_CREATE_EXAMPLE = OpenApiExample(
    "Results as they settle",
    value={"url": "https://partner.example/crowdloop/events", "events": ["item.completed", "campaign.completed"]},
    request_only=True,
)


def _validated(data: Any, partial: bool = False) -> dict[str, Any]:
    serializer = s.WebhookInSerializer(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class WebhookListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("organization", int, description="Only this organization's webhooks."),
            *filter_parameters(WebhookFilter),
            *cursor_parameters(),
        ],
        responses=page_serializer("WebhookPageSerializer", s.WebhookSerializer(many=True)),
        operation_id="webhooks_list",  # a page is one object: spectacular would name it `retrieve`, like the detail
    )
    def get(self, request: Request) -> Response:
        """The webhooks of the caller's organizations in id order (secrets are never shown again)."""
        actor = Actor.for_request(request)
        if not actor.roles:
            raise PermissionDenied(_("Only organization members can see webhooks."))
        organization = _int_param(request, "organization", None, 1, BIGINT_MAX)
        subscriptions = filtered(
            request, selectors.webhooks_for_actor(actor=actor, organization_id=organization), WebhookFilter
        )
        return Response(cursor_page(request, subscriptions, lambda rows: s.WebhookSerializer(rows, many=True).data))

    @extend_schema(
        request=s.WebhookInSerializer,
        responses={201: s.WebhookCreatedSerializer},
        examples=[_CREATE_EXAMPLE],
        description="Subscribe an address to events (owners and coordinators). The response holds the signing "
        "`secret` (generated unless given): it is shown only here. Unknown event names, addresses that are not "
        "https:// or that name a private, loopback or link-local host are a 400 naming the field.",
    )
    def post(self, request: Request) -> Response:
        actor = Actor.for_request(request)
        data = _validated(request.data)
        organization_id = actor.organization_for_write(data.pop("organization", None))
        subscription = webhook_create(organization_id=organization_id, created_by_id=request.user.id, **data)
        response = Response(s.WebhookCreatedSerializer(subscription).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


class WebhookDetailView(APIView):
    @extend_schema(responses=s.WebhookSerializer)
    def get(self, request: Request, webhook_id: int) -> Response:
        subscription = selectors.webhook_for_actor(actor=Actor.for_request(request), subscription_id=webhook_id)
        return Response(s.WebhookSerializer(subscription).data)

    @extend_schema(
        request=s.WebhookInSerializer,
        responses=s.WebhookSerializer,
        description="Change `url`, `events`, `secret` or `active`. Turning a webhook that was turned off back on "
        "(`active: true`) sends the events that waited.",
    )
    def patch(self, request: Request, webhook_id: int) -> Response:
        actor = Actor.for_request(request)
        subscription = selectors.webhook_for_actor(actor=actor, subscription_id=webhook_id, write=True)
        data = _validated(request.data, partial=True)
        if "organization" in data:
            raise ValidationFailed(
                _("A webhook cannot move between organizations."), fields={"organization": _("Read-only.")}
            )
        subscription = webhook_update(
            organization_id=subscription.organization_id, subscription_id=subscription.id, fields=data
        )
        return Response(s.WebhookSerializer(subscription).data)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted, with its delivery log.")})
    def delete(self, request: Request, webhook_id: int) -> Response:
        actor = Actor.for_request(request)
        subscription = selectors.webhook_for_actor(actor=actor, subscription_id=webhook_id, write=True)
        webhook_delete(organization_id=subscription.organization_id, subscription_id=subscription.id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveriesView(APIView):
    @extend_schema(
        parameters=[*filter_parameters(DeliveryFilter), *cursor_parameters(DELIVERIES_PAGE, DELIVERIES_PAGE_MAX)],
        responses=s.WebhookDeliveryPageSerializer,
    )
    def get(self, request: Request, webhook_id: int) -> Response:
        """The delivery log, newest first: status (pending, succeeded, failed), attempts, the last response code,
        duration and error, and when a pending delivery is tried next."""
        subscription = selectors.webhook_for_actor(actor=Actor.for_request(request), subscription_id=webhook_id)
        deliveries = filtered(request, selectors.deliveries_query(subscription=subscription), DeliveryFilter)
        return Response(
            cursor_page(
                request,
                deliveries,
                lambda rows: s.WebhookDeliverySerializer(rows, many=True).data,
                descending=True,
                page=DELIVERIES_PAGE,
                page_max=DELIVERIES_PAGE_MAX,
            )
        )


class WebhookTestView(APIView):
    @extend_schema(
        request=None,
        responses={200: s.WebhookDeliverySerializer},
        description="Send a `webhook.test` event now, once (never retried; a failure does not turn the webhook "
        "off), and answer with its delivery: `succeeded` or `failed` with the response code and error.",
    )
    def post(self, request: Request, webhook_id: int) -> Response:
        actor = Actor.for_request(request)
        subscription = selectors.webhook_for_actor(actor=actor, subscription_id=webhook_id, write=True)
        delivery = webhook_test_send(organization_id=subscription.organization_id, subscription_id=subscription.id)
        return Response(s.WebhookDeliverySerializer(delivery).data)
