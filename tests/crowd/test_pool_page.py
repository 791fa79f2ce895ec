"""An organization's own workers from the web: enroll one and get a sign-in link, block and unblock with a reason,
see quality and earnings; viewers read, other organizations see nothing."""

import pytest

from crowd.models import WorkerBlock
from crowd.services.answers import answer_submit
from crowd.services.organizations import membership_set, organization_ensure
from crowd.services.routing import assignment_claim_next
from tests import factories
from tests.crowd.pages import logged_in
from workers.models import SignInGrant, User, WorkerProfile
from workers.pseudonyms import pseudonym
from workers.services import user_email_verify

pytestmark = pytest.mark.django_db


def test_enrolling_a_worker_shows_a_sign_in_link_once(org):
    organization, owner = org
    url = f"/manage/organizations/{organization.id}/workers/"
    client = logged_in(owner)
    response = client.post(
        url, {"action": "enroll", "username": "baraka", "languages": "Kiswahili, en", "country": "ke"}
    )
    assert response.status_code == 201 and response["Cache-Control"] == "no-store"
    profile = WorkerProfile.objects.get(user__username="baraka")
    assert (profile.enrolled_by_id, profile.country) == (organization.id, "KE")
    assert sorted(profile.languages.values_list("code", flat=True)) == ["en", "sw"]
    page = response.content.decode()
    assert 'id="grant"' in page and "/accounts/link/" in page
    assert SignInGrant.objects.filter(user=profile.user).count() == 1
    assert 'id="grant"' not in client.get(url).content.decode()  # shown once


@pytest.mark.parametrize(
    "body",
    [
        {"username": "", "languages": "en"},
        {"username": "x", "languages": ""},
        {"username": "x", "languages": "12345"},
    ],
)
def test_enrolling_without_a_name_or_a_known_language_is_refused(org, body):
    organization, owner = org
    response = logged_in(owner).post(f"/manage/organizations/{organization.id}/workers/", {"action": "enroll", **body})
    assert response.status_code == 400
    assert not WorkerProfile.objects.exists()


def test_block_unblock_and_what_the_organization_knows(org):
    organization, owner = org
    worker, _ = factories.worker(username="amina", organization=organization)
    campaign = factories.campaign(organization=organization, launch=True, items=1, redundancy=1, max_redundancy=1)
    lease = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
    answer_submit(
        worker=worker,
        assignment_id=lease.id,
        raw_answers=[{"item": e.item_id, "label": "pos"} for e in lease.entries.all()],
    )
    url = f"/manage/organizations/{organization.id}/workers/"
    client = logged_in(owner)
    page = client.get(url).content.decode()
    assert "amina" in page and "1 answer ·" in page and "earned 0.10 USD" in page
    assert pseudonym(organization.id, worker.id) in page  # the pool maps its own workers to their pseudonyms

    refused = client.post(url, {"action": "block", "worker": worker.id, "reason": " "}, follow=True)
    assert "needs a reason" in refused.content.decode()
    client.post(url, {"action": "block", "worker": worker.id, "reason": "Copied answers"})
    assert WorkerBlock.objects.get(worker=worker).reason == "Copied answers"
    assert "Copied answers" in client.get(url).content.decode()
    client.post(url, {"action": "unblock", "worker": worker.id})
    assert not WorkerBlock.objects.exists()

    link = client.post(url, {"action": "link", "worker": worker.id})
    assert link.status_code == 201 and "/accounts/link/" in link.content.decode()


def test_viewers_read_and_others_see_nothing(org):
    organization, _ = org
    worker, _ = factories.worker(username="amina", organization=organization)
    viewer = User.objects.create_user(username="viewer", email="viewer@ngo.example")
    user_email_verify(user=viewer)
    membership_set(organization_id=organization.id, user_id=viewer.id, role="viewer")
    url = f"/manage/organizations/{organization.id}/workers/"
    page = logged_in(viewer).get(url).content.decode()
    assert "amina" in page and 'name="action"' not in page
    assert logged_in(viewer).post(url, {"action": "block", "worker": worker.id, "reason": "x"}).status_code == 403
    outsider, other_owner = organization_ensure(name="Other", owner_email="other@ngo.example")
    assert logged_in(other_owner).get(url).status_code == 404
    stranger, _ = factories.worker(username="stranger", organization=outsider)
    mine = logged_in(org[1]).post(url, {"action": "block", "worker": stranger.id, "reason": "x"}, follow=True)
    assert "not in this organization" in mine.content.decode()
    assert not WorkerBlock.objects.exists()
