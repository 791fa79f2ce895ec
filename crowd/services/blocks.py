"""Coordinators keep a worker away from a campaign or from the whole organization, with a reason."""

from django.db import IntegrityError, transaction

from crowd.exceptions import NotFound, ValidationFailed
from crowd.models import WorkerBlock
from workers.models import WorkerProfile


def worker_block(
    *, organization_id: int, worker_id: int, reason: str, created_by_id: int | None, campaign_id: int | None = None
) -> WorkerBlock:
    """Block a worker (idempotent: blocking again updates the reason). Active leases run out normally."""
    if not (reason or "").strip():
        raise ValidationFailed("A block needs a reason.", fields={"reason": "This field is required."})
    if not WorkerProfile.objects.filter(user_id=worker_id).exists():
        raise NotFound("No such worker.")
    lookup = {"organization_id": organization_id, "worker_id": worker_id, "campaign_id": campaign_id}
    for _ in range(2):
        try:
            with transaction.atomic():
                block, _created = WorkerBlock.objects.update_or_create(
                    **lookup, defaults={"reason": reason.strip(), "created_by_id": created_by_id}
                )
                return block
        except IntegrityError:
            continue  # a concurrent identical block won the insert; update it instead
    raise ValidationFailed("Could not record the block; try again.")


def worker_unblock(*, organization_id: int, worker_id: int, campaign_id: int | None = None) -> None:
    deleted, _ = WorkerBlock.objects.filter(
        organization_id=organization_id, worker_id=worker_id, campaign_id=campaign_id
    ).delete()
    if not deleted:
        raise NotFound("No such block.")
