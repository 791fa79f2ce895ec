"""An organization's webhooks: its subscriptions, a form to add one (its secret shown once, on the answer page
itself, never kept in the session), and per webhook an edit form, a test send, deletion and the delivery log. Every
member reads; owners and coordinators change. The same services as /api/v1/webhooks/ do the writing."""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crowd.coordinator.views import member_required
from crowd.exceptions import DomainError, NotFound, ValidationFailed
from crowd.models import Organization, WebhookDelivery, WebhookSubscription
from crowd.query_params import whole_number
from crowd.selectors import WRITE_ROLES, Actor
from crowd.webhooks import selectors
from crowd.webhooks.events import EVENT_TYPES
from crowd.webhooks.services import webhook_create, webhook_delete, webhook_test_send, webhook_update

LOG_PAGE = 50


def _form(request: HttpRequest) -> dict[str, Any]:
    return {
        "url": request.POST.get("url", "").strip(),
        "events": request.POST.getlist("events"),
        "active": request.POST.get("active") == "on",
    }


def _list_context(actor: Actor, organization: Organization, **extra: Any) -> dict[str, Any]:
    return {
        "organization": organization,
        "subscriptions": selectors.webhooks_for_actor(actor=actor, organization_id=organization.id),
        "event_types": EVENT_TYPES,
        "can_write": actor.roles.get(organization.id) in WRITE_ROLES,
        "form": {"url": "", "events": [], "active": True},
        **extra,
    }


@member_required
@require_http_methods(["GET", "POST"])
def organization_webhooks(request: HttpRequest, actor: Actor, organization_id: int) -> HttpResponse:
    role = actor.roles.get(organization_id)
    if role is None:
        raise Http404(_("No such organization."))
    organization = Organization.objects.get(pk=organization_id)
    if request.method == "GET":
        return render(request, "coordinator/webhooks.html", _list_context(actor, organization))
    if role not in WRITE_ROLES:
        return render(request, "coordinator/read_only.html", status=403)
    form = _form(request)
    try:
        subscription = webhook_create(
            organization_id=organization.id,
            created_by_id=request.user.id,
            url=form["url"],
            events=form["events"],
            active=form["active"],
        )
    except ValidationFailed as exc:
        context = _list_context(actor, organization, form=form, error=exc.message)
        return render(request, "coordinator/webhooks.html", context, status=400)
    # The secret is shown once, in this answer only: never in the session, a message or a log.
    response = render(
        request, "coordinator/webhooks.html", _list_context(actor, organization, created=subscription), status=201
    )
    response["Cache-Control"] = "no-store"
    return response


def _webhook_or_404(actor: Actor, webhook_id: int) -> WebhookSubscription:
    try:
        return selectors.webhook_for_actor(actor=actor, subscription_id=webhook_id)
    except NotFound:
        raise Http404(_("No such webhook.")) from None


def _detail_context(request: HttpRequest, actor: Actor, subscription: WebhookSubscription, **extra: Any) -> dict:
    before = request.GET.get("before", "")
    before_id = whole_number(before) if len(before) <= 18 else None  # within a bigint
    deliveries = selectors.deliveries_for_subscription(
        subscription=subscription, before_id=before_id, limit=LOG_PAGE + 1
    )
    return {
        "subscription": subscription,
        "organization": subscription.organization,
        "event_types": EVENT_TYPES,
        "can_write": actor.roles.get(subscription.organization_id) in WRITE_ROLES,
        "form": {"url": subscription.url, "events": subscription.events, "active": subscription.active},
        "deliveries": deliveries[:LOG_PAGE],
        "older": deliveries[LOG_PAGE - 1].id if len(deliveries) > LOG_PAGE else None,
        "pending": WebhookDelivery.Status.PENDING,
        **extra,
    }


@member_required
@require_http_methods(["GET", "POST"])
def webhook_detail(request: HttpRequest, actor: Actor, webhook_id: int) -> HttpResponse:
    subscription = _webhook_or_404(actor, webhook_id)
    if request.method == "GET":
        return render(request, "coordinator/webhook.html", _detail_context(request, actor, subscription))
    if actor.roles.get(subscription.organization_id) not in WRITE_ROLES:
        return render(request, "coordinator/read_only.html", status=403)
    action = request.POST.get("action", "")
    organization_id = subscription.organization_id
    if action == "delete":
        webhook_delete(organization_id=organization_id, subscription_id=subscription.id)
        messages.success(request, _("Webhook deleted."))
        return redirect("manage-webhooks", organization_id=organization_id)
    if action == "test":
        delivery = webhook_test_send(organization_id=organization_id, subscription_id=subscription.id)
        if delivery.status == WebhookDelivery.Status.SUCCEEDED:
            messages.success(request, _("Test event delivered (HTTP %(code)s).") % {"code": delivery.response_code})
        else:
            messages.error(request, _("The test event was not delivered: %(error)s") % {"error": delivery.last_error})
        return redirect("manage-webhook", webhook_id=subscription.id)
    if action == "save":
        form = _form(request)
        try:
            webhook_update(organization_id=organization_id, subscription_id=subscription.id, fields=form)
        except DomainError as exc:
            context = _detail_context(request, actor, subscription, form=form, error=exc.message)
            return render(request, "coordinator/webhook.html", context, status=400)
        messages.success(request, _("Webhook saved."))
        return redirect("manage-webhook", webhook_id=subscription.id)
    messages.error(request, _("Unknown action."))
    return redirect("manage-webhook", webhook_id=subscription.id)
