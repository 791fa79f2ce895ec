"""Reads for the coordinator's HTML pages that the shared selectors do not offer; scoped to the actor."""

from django.db.models import QuerySet

from crowd.models import Appeal, Organization
from crowd.selectors import Actor, appeals_for_actor


def organizations_for_actor(*, actor: Actor) -> QuerySet[Organization]:
    return Organization.objects.filter(id__in=list(actor.roles)).order_by("name")


def appeal_queue_for_actor(*, actor: Actor) -> QuerySet[Appeal]:
    """Open appeals first, with what the page shows of each: the campaign, the worker and the decider."""
    return appeals_for_actor(actor=actor).select_related("assignment__campaign", "assignment__worker", "decided_by")
