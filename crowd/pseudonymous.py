"""Workers as an organization sees them: by pseudonym (workers/pseudonyms.py), never by username, email or id.

Where an organization names a worker in a request (a block, a review filter) it may give the pseudonym it saw or,
for the workers it enrolled, the integer id its enrollment returned; `worker_from_reference` turns either into the
worker's id, looking only among the workers the organization knows (its own pool and whoever worked on its
campaigns), so a pseudonym cannot be used to probe another organization's workers.
"""

import re

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from crowd.exceptions import ValidationFailed
from crowd.models import CampaignWorker, WorkerBlock
from crowd.query_params import whole_number
from workers.models import WorkerProfile
from workers.pseudonyms import PREFIX, pseudonym

PSEUDONYM_PATTERN = re.compile(rf"^{PREFIX}[a-z2-7]{{26}}$")


def known_worker_ids(*, organization_id: int, campaign_id: int | None = None) -> QuerySet:
    """Ids of the workers an organization knows (one campaign's, when named): enrolled by it, with work in its
    campaigns, or blocked by it."""
    if campaign_id is not None:
        return CampaignWorker.objects.filter(campaign_id=campaign_id).values_list("worker_id", flat=True)
    pool = WorkerProfile.objects.filter(enrolled_by_id=organization_id).values_list("user_id", flat=True)
    worked = CampaignWorker.objects.filter(campaign__organization_id=organization_id).values_list(
        "worker_id", flat=True
    )
    blocked = WorkerBlock.objects.filter(organization_id=organization_id).values_list("worker_id", flat=True)
    return pool.union(worked, blocked)


def is_pseudonym(value: str) -> bool:
    return bool(PSEUDONYM_PATTERN.match(value))


def worker_from_reference(
    *, organization_id: int, reference: object, field: str = "worker", campaign_id: int | None = None
) -> int | None:
    """The worker id an organization means by `reference` (an integer id, or a pseudonym of its own): an id is
    returned as it is (the services behind check it), a pseudonym nobody it knows has gives None. ValidationFailed
    for anything else."""
    if isinstance(reference, int) and not isinstance(reference, bool):
        return reference
    text = str(reference).strip() if isinstance(reference, str) else ""
    number = whole_number(text)
    if number is not None:
        return number
    if not is_pseudonym(text):
        raise ValidationFailed(
            _("`%(name)s` must be a worker's pseudonym or id.") % {"name": field},
            fields={field: _("A pseudonym (w_…) or an id.")},
        )
    for worker_id in known_worker_ids(organization_id=organization_id, campaign_id=campaign_id).iterator():
        if pseudonym(organization_id, worker_id) == text:
            return worker_id
    return None
