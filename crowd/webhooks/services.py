"""Webhook writes: subscriptions, the delivery job and test sends.

The job claims due deliveries in a short transaction (pushing their next attempt ahead, so another job skips them
and a worker that dies half way leaves them due again), sends each outside any transaction, then records what
happened under the delivery's row lock. Delivery is at least once: receivers deduplicate on X-Crowdloop-Event-Id.
"""

import uuid
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crowd.exceptions import NotFound, ValidationFailed
from crowd.models import Membership, WebhookDelivery, WebhookEvent, WebhookSubscription
from crowd.webhooks.delivery import Attempt, body_bytes, delivery_post, target_problem
from crowd.webhooks.events import EVENT_TYPES, WEBHOOK_TEST, event_body
from crowd.webhooks.signing import secret_generate
from workers.locale import supported_language

# Waits before each retry: about a day in all, then the delivery fails and the subscription is turned off.
RETRY_DELAYS_SECONDS = (60, 300, 1800, 7200, 21600, 43200)
MAX_ATTEMPTS = len(RETRY_DELAYS_SECONDS) + 1
# A claimed delivery is due again after this long if its job died: more than one request's total timeout.
CLAIM_SECONDS = 60
CLAIM_BATCH = 20
SECRET_MIN_LENGTH = 16
SECRET_MAX_LENGTH = 200
SUBSCRIPTIONS_PER_ORGANIZATION = 20


def _check_events(events: Any) -> list[str]:
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise ValidationFailed(
            _("Name at least one event."), fields={"events": _("A list of event names: %(names)s.") % _names()}
        )
    unknown = sorted({e for e in events if e not in EVENT_TYPES})
    if unknown:
        raise ValidationFailed(
            _("Unknown event: %(unknown)s.") % {"unknown": ", ".join(unknown)},
            fields={"events": _("Known events: %(names)s.") % _names()},
        )
    return list(dict.fromkeys(events))


def _names() -> dict[str, str]:
    return {"names": ", ".join(EVENT_TYPES)}


def _check_url(url: Any) -> str:
    problem = target_problem(url) if isinstance(url, str) else _("Give the address that receives the events.")
    if problem:
        raise ValidationFailed(problem, fields={"url": problem})
    return url.strip()


def _check_secret(secret: Any) -> str:
    if not isinstance(secret, str) or not SECRET_MIN_LENGTH <= len(secret) <= SECRET_MAX_LENGTH:
        message = _("A secret has %(least)s to %(most)s characters.") % {
            "least": SECRET_MIN_LENGTH,
            "most": SECRET_MAX_LENGTH,
        }
        raise ValidationFailed(message, fields={"secret": message})
    return secret


def webhook_create(
    *,
    organization_id: int,
    created_by_id: int | None,
    url: Any,
    events: Any,
    secret: Any = None,
    active: bool = True,
) -> WebhookSubscription:
    """A new subscription; its secret is generated unless given. Raises ValidationFailed naming the field."""
    fields = {"url": _check_url(url), "events": _check_events(events)}
    fields["secret"] = secret_generate() if secret in (None, "") else _check_secret(secret)
    with transaction.atomic():
        count = WebhookSubscription.objects.filter(organization_id=organization_id).count()
        if count >= SUBSCRIPTIONS_PER_ORGANIZATION:
            raise ValidationFailed(
                _("An organization has at most %(most)s webhooks.") % {"most": SUBSCRIPTIONS_PER_ORGANIZATION}
            )
        return WebhookSubscription.objects.create(
            organization_id=organization_id, created_by_id=created_by_id, active=bool(active), **fields
        )


def _locked(organization_id: int, subscription_id: int) -> WebhookSubscription:
    found = (
        WebhookSubscription.objects.select_for_update()
        .filter(pk=subscription_id, organization_id=organization_id)
        .first()
    )
    if found is None:
        raise NotFound(_("No such webhook."))
    return found


def webhook_update(*, organization_id: int, subscription_id: int, fields: dict[str, Any]) -> WebhookSubscription:
    """Change url, events, secret or active. Turning a subscription back on clears why it was turned off and makes
    its waiting deliveries due now. Locks the subscription. Raises NotFound, ValidationFailed."""
    checked: dict[str, Any] = {}
    if "url" in fields:
        checked["url"] = _check_url(fields["url"])
    if "events" in fields:
        checked["events"] = _check_events(fields["events"])
    if "secret" in fields:
        checked["secret"] = _check_secret(fields["secret"])
    if "active" in fields:
        checked["active"] = bool(fields["active"])
    with transaction.atomic():
        subscription = _locked(organization_id, subscription_id)
        reenabled = checked.get("active") is True and not subscription.active
        for name, value in checked.items():
            setattr(subscription, name, value)
        if reenabled:
            subscription.disabled_at, subscription.disabled_reason = None, ""
            WebhookDelivery.objects.filter(subscription=subscription, status=WebhookDelivery.Status.PENDING).update(
                next_attempt_at=timezone.now()
            )
        subscription.save()
    return subscription


def webhook_delete(*, organization_id: int, subscription_id: int) -> None:
    """Delete a subscription with its delivery log. Raises NotFound."""
    with transaction.atomic():
        _locked(organization_id, subscription_id).delete()


def webhook_deliveries_send(*, limit: int = 500) -> int:
    """The delivery job: send due deliveries of active subscriptions, claiming up to `limit`; returns how many were
    sent (a claimed delivery whose subscription was turned off meanwhile is left waiting)."""
    claimed_count = sent = 0
    while claimed_count < limit:
        claimed = _claim(min(CLAIM_BATCH, limit - claimed_count))
        if not claimed:
            break
        claimed_count += len(claimed)
        sent += sum(webhook_delivery_attempt(delivery_id=delivery_id) is not None for delivery_id in claimed)
    return sent


def _claim(count: int) -> list[int]:
    """Due deliveries, locked while their next attempt is pushed CLAIM_SECONDS ahead (SKIP LOCKED on PostgreSQL, so
    parallel jobs take different ones)."""
    now = timezone.now()
    with transaction.atomic():
        query = WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at__lte=now,
            subscription__active=True,
            is_test=False,
        ).order_by("next_attempt_at", "id")
        if connection.vendor == "postgresql":
            query = query.select_for_update(skip_locked=True, of=("self",))
        ids = list(query.values_list("id", flat=True)[:count])
        if ids:
            WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
    return ids


def _send(delivery: WebhookDelivery) -> Attempt:
    event = delivery.event
    return delivery_post(
        url=delivery.subscription.url,
        secret=delivery.subscription.secret,
        event_id=str(event.uid),
        event_type=event.type,
        body=body_bytes(event_body(event)),
    )


def webhook_delivery_attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """Send one pending delivery once and record it: succeeded on 2xx; otherwise the next retry is scheduled, or,
    after the last one or on a permanent error, the delivery fails and the subscription is turned off (owners
    are mailed). The request runs outside any transaction; the record locks the delivery, then the subscription."""
    delivery = WebhookDelivery.objects.select_related("event", "subscription").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING or not delivery.subscription.active:
        return None
    attempt = _send(delivery)
    now = timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
            return delivery  # recorded by a parallel job meanwhile (the receiver got it twice: same event id)
        _record(delivery, attempt, now)
        if attempt.ok:
            delivery.status = WebhookDelivery.Status.SUCCEEDED
        elif attempt.permanent or delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = WebhookDelivery.Status.FAILED
            if attempt.permanent:
                reason = _("The receiver refused for good: %(error)s") % {"error": attempt.error}
            else:
                reason = _("%(count)s attempts over about a day failed; the last: %(error)s") % {
                    "count": delivery.attempts,
                    "error": attempt.error,
                }
            _disable(delivery.subscription_id, reason[:500])
        else:
            delivery.next_attempt_at = now + timedelta(seconds=RETRY_DELAYS_SECONDS[delivery.attempts - 1])
        delivery.save()
    return delivery


def _record(delivery: WebhookDelivery, attempt: Attempt, now) -> None:
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.response_code = attempt.status
    delivery.duration_ms = attempt.duration_ms
    delivery.last_error = attempt.error


def _disable(subscription_id: int, reason: str) -> None:
    """Turn a subscription off (once) and mail the organization's owners after the commit."""
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription_id)
    if not subscription.active:
        return
    subscription.active = False
    subscription.disabled_at = timezone.now()
    subscription.disabled_reason = reason
    subscription.save(update_fields=["active", "disabled_at", "disabled_reason"])
    owners = Membership.objects.filter(
        organization_id=subscription.organization_id, role=Membership.Role.OWNER, user__is_active=True
    ).select_related("user", "organization")
    for membership in owners:
        if membership.user.email:
            transaction.on_commit(partial(_mail_owner, membership, subscription), robust=True)


def _mail_owner(membership: Membership, subscription: WebhookSubscription) -> None:
    language = supported_language(membership.user.preferred_language) or settings.LANGUAGE_CODE
    with translation.override(language):
        values = {
            "organization": membership.organization.name,
            "url": subscription.url,
            "reason": subscription.disabled_reason,
            "id": subscription.id,
        }
        subject = _("Crowdloop turned off a webhook of %(organization)s") % values
        body = (
            _(
                "Deliveries to %(url)s kept failing, so this webhook was turned off and no more events are sent "
                "to it.\n\n"
                "Why: %(reason)s\n\n"
                "Fix the receiver, then turn the webhook back on in the organization's webhooks page or with "
                'PATCH /api/v1/webhooks/%(id)s/ and {"active": true}: the events that waited are sent then.'
            )
            % values
        )
    send_mail(subject, body, None, [membership.user.email])


def webhook_test_send(*, organization_id: int, subscription_id: int) -> WebhookDelivery:
    """Send a `webhook.test` event to one subscription now, once (never retried, never turns it off), and log it."""
    subscription = WebhookSubscription.objects.filter(pk=subscription_id, organization_id=organization_id).first()
    if subscription is None:
        raise NotFound(_("No such webhook."))
    now = timezone.now()
    with transaction.atomic():
        event = WebhookEvent.objects.create(
            uid=uuid.uuid4(),
            organization_id=organization_id,
            type=WEBHOOK_TEST,
            data={"webhook": subscription.id, "message": "This is a test event sent from Crowdloop."},
            created_at=now,
        )
        delivery = WebhookDelivery.objects.create(
            event=event, subscription=subscription, is_test=True, next_attempt_at=now, created_at=now
        )
    delivery.event, delivery.subscription = event, subscription
    attempt = _send(delivery)
    _record(delivery, attempt, timezone.now())
    delivery.status = WebhookDelivery.Status.SUCCEEDED if attempt.ok else WebhookDelivery.Status.FAILED
    delivery.save()
    return delivery
