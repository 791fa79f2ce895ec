"""Webhook reads, scoped to who asks: members of an organization see its subscriptions and their delivery log."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from crowd.exceptions import NotFound
from crowd.models import Membership, WebhookDelivery, WebhookSubscription
from crowd.selectors import WRITE_ROLES, Actor


def webhooks_for_actor(*, actor: Actor, organization_id: int | None = None) -> QuerySet[WebhookSubscription]:
    organizations = list(actor.roles) if organization_id is None else [organization_id]
    allowed = [o for o in organizations if o in actor.roles]
    return WebhookSubscription.objects.filter(organization_id__in=allowed).order_by("id")


def webhook_for_actor(*, actor: Actor, subscription_id: int, write: bool = False) -> WebhookSubscription:
    """A subscription of one of the actor's organizations (owners and coordinators to change it); NotFound
    otherwise, so another organization's subscriptions do not leak their existence."""
    subscription = webhooks_for_actor(actor=actor).filter(pk=subscription_id).first()
    if subscription is None:
        raise NotFound(_("No such webhook."))
    if write:
        actor.require_role(subscription.organization_id, WRITE_ROLES)
    return subscription


def deliveries_query(*, subscription: WebhookSubscription) -> QuerySet[WebhookDelivery]:
    """The delivery log, unordered, with each delivery's event."""
    return WebhookDelivery.objects.filter(subscription=subscription).select_related("event")


def deliveries_for_subscription(
    *, subscription: WebhookSubscription, before_id: int | None = None, limit: int = 50
) -> list[WebhookDelivery]:
    """The delivery log, newest first, from below `before_id` (cursor pages), with each delivery's event."""
    query = deliveries_query(subscription=subscription).order_by("-id")
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    return list(query[:limit])


def webhooks_disabled_for_owner(*, actor: Actor) -> list[WebhookSubscription]:
    """Subscriptions turned off after failing, in the organizations the actor owns: the notice owners see."""
    owned = [org for org, role in actor.roles.items() if role == Membership.Role.OWNER]
    return list(
        WebhookSubscription.objects.filter(organization_id__in=owned, active=False, disabled_at__isnull=False)
        .select_related("organization")
        .order_by("-disabled_at")[:20]
    )
