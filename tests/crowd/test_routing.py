"""Routing rules: eligibility matrix, leases, release, gold mixing, redundancy, and the reasons for nothing."""

import datetime as dt

import pytest
import time_machine
from django.db.models import Count

from crowd.eligibility import NoWork
from crowd.exceptions import LeaseExpired
from crowd.models import Answer, Assignment, AssignmentItem, Campaign, CampaignWorker, Item, MicroTask
from crowd.services.answers import answer_submit
from crowd.services.blocks import worker_block
from crowd.services.campaigns import campaign_update
from crowd.services.imports import items_import
from crowd.services.routing import (
    EARLY_GOLD_ASSIGNMENTS,
    assignment_claim_next,
    assignment_expire_due,
    assignment_heartbeat,
    assignment_release,
    gold_ratio_for,
)
from tests import factories
from workers.models import WorkerProfile

pytestmark = pytest.mark.django_db


def claim(worker, campaign=None):
    return assignment_claim_next(worker=worker, campaign_id=campaign.id if campaign else None)


def submit_all(worker, assignment, label="pos"):
    items = AssignmentItem.objects.filter(assignment=assignment).values_list("item_id", flat=True)
    return answer_submit(
        worker=worker, assignment_id=assignment.id, raw_answers=[{"item": i, "label": label} for i in items]
    )


def _campaign_with_languages(tags, **fields):
    campaign = factories.campaign(**fields)
    items_import(
        campaign_id=campaign.id,
        rows=[{"external_id": f"{tag}-{i}", "data": {"text": tag}, "language": tag} for i, tag in enumerate(tags)],
    )
    from crowd.services.campaigns import campaign_launch

    return campaign_launch(campaign_id=campaign.id)


@pytest.mark.parametrize(
    ("worker_languages", "item_language", "gets_work"),
    [
        ((("sw", 5),), "swa", True),  # ISO 639-3 tag of the same language
        ((("sw", 5),), "sw-KE", True),  # regional variant
        ((("swa", 3),), "sw", True),
        ((("en", 5),), "sw", False),
        ((("luo", 4),), "luo", True),
        ((("fr", 5), ("en", 2)), "en", True),
    ],
)
def test_assignment_claim_next_matches_normalized_languages(worker_languages, item_language, gets_work):
    campaign = _campaign_with_languages([item_language])
    worker, _ = factories.worker(languages=worker_languages)
    result = claim(worker, campaign)
    assert (result.assignment is not None) is gets_work
    if not gets_work:
        assert result.reason == NoWork.NO_LANGUAGE


def test_assignment_claim_next_respects_campaign_languages_and_min_level():
    campaign = factories.campaign(launch=True, items=2, languages=["en"], min_language_level=4)
    weak, _ = factories.worker(languages=(("en", 3),))
    strong, _ = factories.worker(languages=(("en", 4),))
    other, _ = factories.worker(languages=(("fr", 5),))
    assert claim(weak, campaign).reason == NoWork.NO_LANGUAGE
    assert claim(other, campaign).reason == NoWork.NO_LANGUAGE
    assert claim(strong, campaign).assignment is not None


def test_assignment_claim_next_requires_every_skill_at_level():
    factories.campaign(launch=True, items=2, required_skills={"medical": 3, "triage": 2})
    partial, _ = factories.worker(skills=(("medical", 5),))
    low, _ = factories.worker(skills=(("medical", 2), ("triage", 2)))
    skilled, _ = factories.worker(skills=(("medical", 3), ("triage", 4)))
    assert claim(partial).reason == NoWork.NO_SKILLS
    assert claim(low).reason == NoWork.NO_SKILLS
    assert claim(skilled).assignment is not None


def test_assignment_claim_next_private_campaign_only_for_enrolled_workers():
    organization = factories.OrganizationFactory()
    campaign = factories.campaign(organization=organization, launch=True, items=2, visibility="private")
    outsider, _ = factories.worker()
    member, _ = factories.worker(organization=organization)
    assert claim(outsider).reason == NoWork.NO_CAMPAIGNS
    assert claim(member).assignment.campaign_id == campaign.id


def test_assignment_claim_next_blocked_by_campaign_or_organization():
    organization = factories.OrganizationFactory()
    first = factories.campaign(organization=organization, launch=True, items=2)
    second = factories.campaign(organization=organization, launch=True, items=2)
    worker, _ = factories.worker()
    worker_block(
        organization_id=organization.id, campaign_id=first.id, worker_id=worker.id, reason="spam", created_by_id=None
    )
    assert claim(worker, first).reason == NoWork.BLOCKED
    assert claim(worker, second).assignment is not None
    other, _ = factories.worker()
    worker_block(organization_id=organization.id, worker_id=other.id, reason="fraud", created_by_id=None)
    assert claim(other).reason == NoWork.BLOCKED


def test_assignment_claim_next_sensitive_needs_opt_in_and_is_capped_per_day():
    campaign = factories.campaign(launch=True, items=5, sensitive=True, sensitive_daily_cap=2)
    worker, _ = factories.worker()
    assert claim(worker, campaign).reason == NoWork.SENSITIVE_OPT_IN
    WorkerProfile.objects.filter(user=worker).update(sensitive_opt_in=True)
    for _ in range(2):
        submit_all(worker, claim(worker, campaign).assignment)
    assert claim(worker, campaign).reason == NoWork.SENSITIVE_CAP
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=1), tick=False):
        assert claim(worker, campaign).assignment is not None


def test_assignment_claim_next_stops_low_quality_workers_after_enough_gold():
    campaign = factories.campaign(launch=True, items=10, gold_ratio=1.0, min_quality=0.7, min_quality_answers=2)
    items_import(
        campaign_id=campaign.id,
        rows=[{"external_id": f"g{i}", "data": {"text": "gold"}, "gold": "pos"} for i in range(5)],
    )
    guesser, _ = factories.worker()
    for _ in range(2):
        submit_all(guesser, claim(guesser, campaign).assignment, label="neg")  # every gold answer wrong
    stats = CampaignWorker.objects.get(campaign=campaign, worker=guesser)
    assert (stats.gold_answers, stats.gold_correct, stats.quality) == (2, 0, 0.0)
    assert claim(guesser, campaign).reason == NoWork.LOW_QUALITY
    careful, _ = factories.worker()
    for _ in range(3):
        assignment = claim(careful, campaign).assignment
        submit_all(careful, assignment, label="pos")
    assert CampaignWorker.objects.get(campaign=campaign, worker=careful).quality == 1.0


def test_assignment_claim_next_never_gives_an_item_twice_even_after_release():
    campaign = factories.campaign(launch=True, items=3, redundancy=3)
    worker, _ = factories.worker()
    first = claim(worker, campaign).assignment
    released_items = set(AssignmentItem.objects.filter(assignment=first).values_list("item_id", flat=True))
    assignment_release(worker=worker, assignment_id=first.id, reason="unclear")
    seen = set(released_items)
    while (result := claim(worker, campaign)).assignment:
        items = set(AssignmentItem.objects.filter(assignment=result.assignment).values_list("item_id", flat=True))
        assert not items & seen
        seen |= items
        submit_all(worker, result.assignment)
    assert result.reason == NoWork.ALL_DONE
    assert len(seen) == 3
    # the released slot went back to the pool: another worker can take it
    assert MicroTask.objects.get(pk=first.microtask_id).active_count == 0


def test_assignment_claim_next_returns_the_lease_already_held():
    campaign = factories.campaign(launch=True, items=3)
    worker, _ = factories.worker()
    first = claim(worker, campaign)
    again = claim(worker, campaign)
    assert first.created and not again.created
    assert again.assignment.id == first.assignment.id
    assert Assignment.objects.filter(worker=worker).count() == 1


def test_assignment_expiry_frees_the_slot_lazily_and_in_the_sweep():
    campaign = factories.campaign(launch=True, items=1, redundancy=1, lease_seconds=60)
    first, _ = factories.worker()
    second, _ = factories.worker()
    third, _ = factories.worker()
    lease = claim(first, campaign).assignment
    assert claim(second, campaign).reason == NoWork.ALL_LEASED
    later = lease.expires_at + dt.timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        # the next claim expires the stale lease itself and takes the slot
        taken = claim(second, campaign).assignment
        assert taken is not None and taken.microtask_id == lease.microtask_id
        lease.refresh_from_db()
        assert lease.status == Assignment.Status.EXPIRED
        with pytest.raises(LeaseExpired):
            submit_all(first, lease)
    with time_machine.travel(taken.expires_at + dt.timedelta(seconds=1), tick=False):
        assert assignment_expire_due() == 1
        assert MicroTask.objects.get(pk=lease.microtask_id).active_count == 0
        assert claim(third, campaign).assignment is not None


def test_assignment_heartbeat_keeps_a_lease_alive_and_counts_active_time():
    campaign = factories.campaign(launch=True, items=1, redundancy=1, lease_seconds=120)
    worker, _ = factories.worker()
    lease = claim(worker, campaign).assignment
    start = lease.leased_at
    for minute in (1, 2, 3):  # each heartbeat comes before the lease would have run out
        with time_machine.travel(start + dt.timedelta(seconds=60 * minute), tick=False):
            lease = assignment_heartbeat(worker=worker, assignment_id=lease.id)
    assert lease.expires_at == start + dt.timedelta(seconds=180 + 120)
    assert lease.active_seconds == pytest.approx(180)
    with time_machine.travel(start + dt.timedelta(seconds=290), tick=False):
        assert assignment_expire_due() == 0  # still alive, though the original lease ended at 120 s
        lease = assignment_heartbeat(worker=worker, assignment_id=lease.id)  # 110 s gap: active
        submit_all(worker, lease)
    lease.refresh_from_db()
    assert lease.status == Assignment.Status.SUBMITTED
    assert lease.active_seconds == pytest.approx(290)


def test_assignment_heartbeat_idle_gap_is_not_work_and_lease_is_capped():
    campaign = factories.campaign(launch=True, items=1, redundancy=1, lease_seconds=300)
    worker, _ = factories.worker()
    lease = claim(worker, campaign).assignment
    start = lease.leased_at
    with time_machine.travel(start + dt.timedelta(seconds=250), tick=False):
        lease = assignment_heartbeat(worker=worker, assignment_id=lease.id)
    assert lease.active_seconds == 0  # 250 s without a sign of life is idle
    t = 250
    while t + 250 < 1200:
        t += 250
        with time_machine.travel(start + dt.timedelta(seconds=t), tick=False):
            lease = assignment_heartbeat(worker=worker, assignment_id=lease.id)
    assert lease.expires_at <= start + dt.timedelta(seconds=4 * 300)


def test_assignment_heartbeat_after_expiry_is_refused():
    campaign = factories.campaign(launch=True, items=1, lease_seconds=60)
    worker, _ = factories.worker()
    lease = claim(worker, campaign).assignment
    with time_machine.travel(lease.expires_at + dt.timedelta(seconds=1), tick=False), pytest.raises(LeaseExpired):
        assignment_heartbeat(worker=worker, assignment_id=lease.id)


def test_assignment_claim_next_honours_a_raised_redundancy_at_once():
    campaign = factories.campaign(launch=True, items=1, redundancy=1, max_redundancy=3)
    first, _ = factories.worker()
    second, _ = factories.worker()
    submit_all(first, claim(first, campaign).assignment)
    assert claim(second, campaign).reason == NoWork.ALL_DONE
    campaign_update(campaign_id=campaign.id, fields={"redundancy": 2})
    assert claim(second, campaign).assignment is not None
    assert Item.objects.get(campaign=campaign).redundancy == 2


def test_assignment_claim_next_finishes_items_first_by_default():
    campaign = factories.campaign(launch=True, items=3, redundancy=2)
    workers = [factories.worker()[0] for _ in range(2)]
    microtasks = [claim(w, campaign).assignment.microtask_id for w in workers]
    assert microtasks[0] == microtasks[1]  # the second worker completes the first item


def test_assignment_claim_next_breadth_first_spreads_over_items():
    campaign = factories.campaign(launch=True, items=3, redundancy=2, order="breadth_first")
    workers = [factories.worker()[0] for _ in range(3)]
    microtasks = [claim(w, campaign).assignment.microtask_id for w in workers]
    assert len(set(microtasks)) == 3


def test_assignment_claim_next_prefers_higher_priority_then_spreads_equal_ones():
    organization = factories.OrganizationFactory()
    low = factories.campaign(organization=organization, launch=True, items=40, priority=0)
    high = factories.campaign(organization=organization, launch=True, items=40, priority=5)
    assert claim(factories.worker()[0]).assignment.campaign_id == high.id
    campaign_update(campaign_id=high.id, fields={"priority": 0})
    campaigns = {claim(factories.worker()[0]).assignment.campaign_id for _ in range(30)}
    assert campaigns == {low.id, high.id}


def test_gold_ratio_for_is_higher_in_a_workers_first_microtasks():
    assert gold_ratio_for(campaign_ratio=0.1, previous_assignments=0) == 0.4
    assert gold_ratio_for(campaign_ratio=0.1, previous_assignments=EARLY_GOLD_ASSIGNMENTS) == 0.1
    assert gold_ratio_for(campaign_ratio=0.6, previous_assignments=0) == 0.6
    assert gold_ratio_for(campaign_ratio=0.0, previous_assignments=0) == 0.0


def test_assignment_claim_next_mixes_gold_at_the_configured_rates():
    campaign = factories.campaign(launch=True, items=400, redundancy=1, gold_ratio=0.1)
    items_import(
        campaign_id=campaign.id,
        rows=[{"external_id": f"g{i}", "data": {"text": "gold"}, "gold": "pos"} for i in range(200)],
    )
    early = late = early_gold = late_gold = 0
    for _ in range(6):
        worker, _ = factories.worker()
        for index in range(50):
            assignment = claim(worker, campaign).assignment
            gold = AssignmentItem.objects.filter(assignment=assignment, is_gold=True).exists()
            if index < EARLY_GOLD_ASSIGNMENTS:
                early, early_gold = early + 1, early_gold + gold
            else:
                late, late_gold = late + 1, late_gold + gold
            submit_all(worker, assignment)
    # 60 early draws at p=0.4 and 240 late draws at p=0.1; bounds are ~4 standard deviations wide.
    assert 0.15 <= early_gold / early <= 0.65
    assert 0.03 <= late_gold / late <= 0.19
    # gold answers never count toward an item's redundancy
    gold_answers = Answer.objects.filter(campaign=campaign, is_gold=True).count()
    assert gold_answers == early_gold + late_gold
    assert set(Item.objects.filter(campaign=campaign, gold__isnull=False).values_list("answer_count", flat=True)) == {0}


def test_assignment_claim_next_reasons_for_nothing():
    worker, _ = factories.worker(languages=(("en", 5),))
    assert claim(worker).reason == NoWork.NO_CAMPAIGNS
    campaign = factories.campaign(launch=True, items=1, redundancy=1)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.PAUSED)
    assert claim(worker, campaign).reason == NoWork.CAMPAIGN_NOT_ACTIVE
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.ACTIVE)
    no_profile = factories.worker()[0]
    WorkerProfile.objects.filter(user=no_profile).delete()
    assert claim(no_profile).reason == NoWork.NO_PROFILE
    holder, _ = factories.worker()
    claim(holder, campaign)
    assert claim(worker, campaign).reason == NoWork.ALL_LEASED


def test_assignment_claim_never_leaves_duplicates_in_history():
    campaign = factories.campaign(launch=True, items=6, redundancy=2, items_per_task=2)
    for _ in range(4):
        worker, _ = factories.worker()
        while (result := claim(worker, campaign)).assignment:
            submit_all(worker, result.assignment)
    assert not AssignmentItem.objects.values("item", "worker").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert set(Item.objects.filter(campaign=campaign).values_list("answer_count", flat=True)) == {2}
