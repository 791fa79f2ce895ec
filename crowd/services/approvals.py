"""Approval of submitted work: automatic after the campaign's window, early by a coordinator, or a rejection
with a reason the worker sees; one appeal per rejection. Every decision moves money in the ledger.
"""

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crowd.exceptions import Conflict, InvalidState, NotFound, ValidationFailed
from crowd.models import Appeal, Assignment, Campaign
from crowd.services.funds import funds_require
from crowd.webhooks.events import APPEAL_CREATED, event_emit
from payments.models import LedgerEntry
from payments.services import ledger_move, ledger_record
from workers.models import User
from workers.pseudonyms import pseudonym

AUTO_APPROVE_BATCH = 1000


def _approve_locked(assignment: Assignment, *, decided_by_id: int | None, now: dt.datetime) -> None:
    assignment.status = Assignment.Status.APPROVED
    assignment.decided_at = now
    assignment.decided_by_id = decided_by_id
    assignment.save(update_fields=["status", "decided_at", "decided_by"])
    ledger_move(
        worker_id=assignment.worker_id,
        amount_minor=assignment.reward_minor,
        currency=assignment.currency,
        from_status=LedgerEntry.Status.PENDING,
        to_status=LedgerEntry.Status.AVAILABLE,
        kind=LedgerEntry.Kind.REWARD,
        key=f"approve:{assignment.id}",
        campaign_id=assignment.campaign_id,
        assignment_id=assignment.id,
    )


def _locked(assignment_id: int, organization_ids: list[int] | None) -> Assignment:
    query = Assignment.objects.select_for_update(no_key=True).filter(pk=assignment_id)
    if organization_ids is not None:
        query = query.filter(campaign__organization_id__in=organization_ids)
    assignment = query.first()
    if assignment is None:
        raise NotFound(_("No such assignment."))
    return assignment


def assignment_approve(*, assignment_id: int, decided_by_id: int, organization_ids: list[int]) -> Assignment:
    """Approve submitted work early: its reward moves from pending to available. Locks the assignment.
    Idempotent; raises InvalidState unless submitted (or already approved)."""
    with transaction.atomic():
        assignment = _locked(assignment_id, organization_ids)
        if assignment.status == Assignment.Status.APPROVED:
            return assignment
        if assignment.status != Assignment.Status.SUBMITTED:
            raise InvalidState(
                _("Only submitted work can be approved; this assignment is %(status)s.") % {"status": assignment.status}
            )
        _approve_locked(assignment, decided_by_id=decided_by_id, now=timezone.now())
    return assignment


def assignment_reject(
    *, assignment_id: int, decided_by_id: int, organization_ids: list[int], reason: str
) -> Assignment:
    """Reject submitted work with a reason the worker sees; the pending reward is reversed by a new entry.
    Locks the assignment. Raises ValidationFailed without a reason, InvalidState unless submitted."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("A rejection needs a reason the worker can read."), fields={"reason": _("Required.")})
    with transaction.atomic():
        assignment = _locked(assignment_id, organization_ids)
        if assignment.status == Assignment.Status.REJECTED and assignment.reject_reason == reason:
            return assignment
        if assignment.status != Assignment.Status.SUBMITTED:
            raise InvalidState(
                _("Only submitted work can be rejected; this assignment is %(status)s.") % {"status": assignment.status}
            )
        reject_locked(assignment, decided_by_id=decided_by_id, reason=reason)
    return assignment


def reject_locked(assignment: Assignment, *, decided_by_id: int | None, reason: str) -> None:
    """Reject a submitted assignment whose row the caller holds locked; reverses its pending reward."""
    assignment.status = Assignment.Status.REJECTED
    assignment.decided_at = timezone.now()
    assignment.decided_by_id = decided_by_id
    assignment.reject_reason = reason
    assignment.save(update_fields=["status", "decided_at", "decided_by", "reject_reason"])
    ledger_record(
        worker_id=assignment.worker_id,
        amount_minor=-assignment.reward_minor,
        currency=assignment.currency,
        status=LedgerEntry.Status.PENDING,
        kind=LedgerEntry.Kind.ADJUSTMENT,
        key=f"reject:{assignment.id}",
        campaign_id=assignment.campaign_id,
        assignment_id=assignment.id,
        reason=f"Rejected: {reason}",
    )


def assignments_auto_approve(*, now: dt.datetime | None = None) -> int:
    """Approve every submission older than its campaign's approval window. Safe to run concurrently
    (SKIP LOCKED) and again (already approved work is skipped). Returns how many were approved."""
    now = now or timezone.now()
    approved = 0
    waiting = Assignment.objects.filter(status=Assignment.Status.SUBMITTED)
    for campaign_id, hours in Campaign.objects.filter(id__in=waiting.values("campaign_id").distinct()).values_list(
        "id", "approval_hours"
    ):
        cutoff = now - dt.timedelta(hours=hours)
        while True:
            with transaction.atomic():
                batch = list(
                    waiting.filter(campaign_id=campaign_id, submitted_at__lte=cutoff)
                    .select_for_update(skip_locked=True, no_key=True)
                    .order_by("submitted_at")[:AUTO_APPROVE_BATCH]
                )
                for assignment in batch:
                    _approve_locked(assignment, decided_by_id=None, now=now)
            approved += len(batch)
            if len(batch) < AUTO_APPROVE_BATCH:
                break
    return approved


def appeal_create(*, worker: User, assignment_id: int, message: str) -> Appeal:
    """A worker contests a rejection, once. Raises NotFound (not theirs), InvalidState (not rejected),
    Conflict (already appealed), ValidationFailed (no message)."""
    message = (message or "").strip()
    if not message:
        raise ValidationFailed(_("Say why the work should be accepted."), fields={"message": _("Required.")})
    assignment = Assignment.objects.filter(pk=assignment_id, worker=worker).select_related("campaign").first()
    if assignment is None:
        raise NotFound(_("No such assignment."))
    if assignment.status != Assignment.Status.REJECTED:
        raise InvalidState(_("Only rejected work can be appealed."))
    try:
        with transaction.atomic():
            appeal = Appeal.objects.create(assignment=assignment, message=message)
            _appeal_event(appeal, assignment)
            return appeal
    except IntegrityError:
        raise Conflict(_("This rejection was already appealed; each rejection can be appealed once.")) from None


def appeal_decide(
    *, appeal_id: int, decided_by_id: int, organization_ids: list[int], overturn: bool, note: str = ""
) -> Appeal:
    """Uphold or overturn an open appeal. Overturning approves the work and pays the reward (available), if the
    organization's funds cover it. Locks the appeal, then the assignment, then the funds. Raises NotFound,
    InvalidState (already decided), InsufficientFunds (nothing changes)."""
    with transaction.atomic():
        appeal = (
            Appeal.objects.select_for_update(no_key=True)
            .filter(pk=appeal_id, assignment__campaign__organization_id__in=organization_ids)
            .first()
        )
        if appeal is None:
            raise NotFound(_("No such appeal."))
        if appeal.status != Appeal.Status.OPEN:
            raise InvalidState(_("This appeal was already decided (%(status)s).") % {"status": appeal.status})
        now = timezone.now()
        appeal.status = Appeal.Status.OVERTURNED if overturn else Appeal.Status.UPHELD
        appeal.decided_by_id, appeal.decided_at, appeal.decision_note = decided_by_id, now, note.strip()
        appeal.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        if overturn:
            assignment = _locked(appeal.assignment_id, None)
            assignment.status = Assignment.Status.APPROVED
            assignment.decided_at, assignment.decided_by_id = now, decided_by_id
            assignment.save(update_fields=["status", "decided_at", "decided_by"])
            ledger_record(
                worker_id=assignment.worker_id,
                amount_minor=assignment.reward_minor,
                currency=assignment.currency,
                status=LedgerEntry.Status.AVAILABLE,
                kind=LedgerEntry.Kind.ADJUSTMENT,
                key=f"overturn:{assignment.id}",
                campaign_id=assignment.campaign_id,
                assignment_id=assignment.id,
                reason="Rejection overturned on appeal",
            )
            # The rejection released the reward from the reserve: paying it now must be covered by the funds.
            funds_require(
                organization_id=assignment.campaign.organization_id,
                currency=assignment.currency,
                needed_minor=assignment.reward_minor,
                action="Overturning this rejection",  # in English: funds_require translates it (ACTION_NAMES)
            )
    return appeal


BATCH_DECISION_MAX = 500


def assignments_decide(
    *,
    campaign_id: int,
    assignment_ids: list[int],
    decision: str,
    reason: str = "",
    decided_by_id: int,
    organization_ids: list[int],
) -> list[Assignment]:
    """Approve or reject many submissions of one campaign at once, one reason for a rejected batch. All or nothing:
    every one is decided or none is (NotFound for an id outside the campaign, InvalidState for work that is not
    submitted; work already decided the same way is left as it is). Locks the assignments in id order."""
    if decision not in ("approve", "reject"):
        raise ValidationFailed(_("`decision` is approve or reject."), fields={"decision": "approve or reject"})
    ids = sorted({i for i in assignment_ids if isinstance(i, int) and not isinstance(i, bool)})
    if not ids or len(ids) != len(set(assignment_ids)) or len(ids) > BATCH_DECISION_MAX:
        raise ValidationFailed(
            _("`ids` lists 1 to %(max)s assignment ids.") % {"max": BATCH_DECISION_MAX},
            fields={"ids": _("A list of assignment ids.")},
        )
    if decision == "reject" and not (reason or "").strip():
        raise ValidationFailed(_("A rejection needs a reason the worker can read."), fields={"reason": _("Required.")})
    with transaction.atomic():
        found = set(
            Assignment.objects.filter(
                pk__in=ids, campaign_id=campaign_id, campaign__organization_id__in=organization_ids
            ).values_list("id", flat=True)
        )
        if found != set(ids):
            raise NotFound(_("No such assignment in this campaign: %(id)s.") % {"id": min(set(ids) - found)})
        decided = []
        for assignment_id in ids:  # each locks its row; an error rolls the whole batch back
            if decision == "approve":
                decided.append(
                    assignment_approve(
                        assignment_id=assignment_id, decided_by_id=decided_by_id, organization_ids=organization_ids
                    )
                )
            else:
                decided.append(
                    assignment_reject(
                        assignment_id=assignment_id,
                        decided_by_id=decided_by_id,
                        organization_ids=organization_ids,
                        reason=reason,
                    )
                )
    return decided


def _appeal_event(appeal: Appeal, assignment: Assignment) -> None:
    """appeal.created, in the appeal's transaction; the worker appears only by their pseudonym."""
    organization_id = assignment.campaign.organization_id
    event_emit(
        organization_id=organization_id,
        event_type=APPEAL_CREATED,
        data={
            "appeal": appeal.id,
            "assignment": assignment.id,
            "campaign": assignment.campaign_id,
            "worker": pseudonym(organization_id, assignment.worker_id),
            "reject_reason": assignment.reject_reason,
            "message": appeal.message,
            "created_at": appeal.created_at.isoformat(),
        },
    )
