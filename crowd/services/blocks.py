"""Coordinators keep a worker away from a campaign or from the whole organization, with a reason."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from crowd.exceptions import NotFound, ValidationFailed
from crowd.models import WorkerBlock
from workers.models import WorkerProfile


def worker_block(
    *, organization_id: int, worker_id: int, reason: str, created_by_id: int | None, campaign_id: int | None = None
) -> WorkerBlock:
    """Block a worker (idempotent: blocking again updates the reason). Active leases run out normally."""
    if not (reason or "").strip():
        raise ValidationFailed(_("A block needs a reason."), fields={"reason": _("This field is required.")})
    if not WorkerProfile.objects.filter(user_id=worker_id).exists():
        raise NotFound(_("No such worker."))
    lookup = {"organization_id": organization_id, "worker_id": worker_id, "campaign_id": campaign_id}
    for _attempt in range(2):  # not `_`: that name is gettext here
        try:
            with transaction.atomic():
                block, _created = WorkerBlock.objects.update_or_create(
                    **lookup, defaults={"reason": reason.strip(), "created_by_id": created_by_id}
                )
                return block
        except IntegrityError:
            continue  # a concurrent identical block won the insert; update it instead
    raise ValidationFailed(_("Could not record the block; try again."))


def worker_unblock(*, organization_id: int, worker_id: int, campaign_id: int | None = None) -> None:
    deleted, _by_model = WorkerBlock.objects.filter(
        organization_id=organization_id, worker_id=worker_id, campaign_id=campaign_id
    ).delete()
    if not deleted:
        raise NotFound(_("No such block."))
