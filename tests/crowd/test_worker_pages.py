"""The worker's pages: sign up, profile, available work, lease, submit, release — with plain HTML forms."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from crowd.models import Answer, Appeal, Assignment
from crowd.services.answers import answer_submit
from crowd.services.approvals import assignment_reject
from crowd.services.routing import assignment_claim_next, assignment_expire_due
from payments.models import LedgerEntry
from tests import factories
from workers.models import User, WorkerLanguage

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker_client(client):
    user, _ = factories.worker(languages=(("sw", 5), ("en", 4)))
    client.force_login(user)
    return user, client


def test_signup_leads_to_profile_then_work(client):
    response = client.post(
        reverse("account_signup"),
        {"username": "wanjiru", "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"},
    )
    assert response.status_code == 302 and response["Location"] == "/work/profile/"
    assert client.get("/work/").url == "/work/profile/"  # no languages yet
    response = client.post(
        "/work/profile/",
        {"country": "KE", "language_1": "swa", "language_level_1": "5", "language_2": "en-GB", "language_level_2": "3"},
    )
    assert response.status_code == 302
    user = User.objects.get(username="wanjiru")
    assert dict(WorkerLanguage.objects.filter(profile__user=user).values_list("code", "level")) == {"sw": 5, "en": 3}
    assert client.get("/work/").url == "/accounts/welcome/"  # the terms, once, before any work
    client.post("/accounts/welcome/", {"accept": "on"})
    assert client.get("/work/").status_code == 200


def test_profile_rejects_unknown_language_and_keeps_old_ones(worker_client):
    user, client = worker_client
    response = client.post("/work/profile/", {"language_1": "zz-notreal", "language_level_1": "3"})
    assert response.status_code == 400
    assert "We do not know the language “zz-notreal”" in response.content.decode()
    assert set(WorkerLanguage.objects.filter(profile__user=user).values_list("code", flat=True)) == {"sw", "en"}


def test_work_home_lists_campaigns_with_pay(worker_client):
    _, client = worker_client
    campaign = factories.campaign(launch=True, items=2, reward="0.25", name="Clinic SMS")
    page = client.get("/work/").content.decode()
    assert "Clinic SMS" in page and "0.25 USD" in page
    assert f'value="{campaign.id}"' in page


def test_work_next_leases_and_shows_form(worker_client):
    user, client = worker_client
    campaign = factories.campaign(launch=True, items=3, items_per_task=2)
    response = client.post("/work/next/", {"campaign": campaign.id})
    assignment = Assignment.objects.get(worker=user)
    # The task comes in the answer itself (no redirect to wait for); its address travels with it.
    assert response.status_code == 200
    assert response["Crowdloop-Location"] == f"/work/assignments/{assignment.id}/"
    assert f'"url": "/work/assignments/{assignment.id}/"' in response.content.decode()
    again = client.post("/work/next/", {"campaign": campaign.id})  # a reload sends the POST again
    assert Assignment.objects.filter(worker=user).count() == 1
    assert again.content.decode().count('type="radio"') == 4
    page = client.get(response["Crowdloop-Location"]).content.decode()
    assert page.count('type="radio"') == 4  # two items, two labels each
    assert "<script src" not in page  # one inline heartbeat script at most, no framework
    assert "/heartbeat/" in page


def test_work_assignment_submit_stores_answers_and_goes_to_next(worker_client, django_capture_on_commit_callbacks):
    user, client = worker_client
    campaign = factories.campaign(launch=True, items=2, items_per_task=1)
    client.post("/work/next/", {"campaign": campaign.id})
    assignment = Assignment.objects.get(worker=user)
    item_id = assignment.entries.get().item_id
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/work/assignments/{assignment.id}/", {f"item-{item_id}": "neg", "then": "next"})
    assert Answer.objects.get(worker=user).label == "neg"
    assert LedgerEntry.objects.get(worker=user).status == LedgerEntry.Status.PENDING
    # The same POST leased the second item and leads straight to it.
    following = Assignment.objects.get(worker=user, status=Assignment.Status.ACTIVE)
    assert following.id != assignment.id
    assert response.status_code == 302 and response.url == f"/work/assignments/{following.id}/"


def test_work_next_get_only_shows_a_button_and_leases_nothing(worker_client):
    user, client = worker_client
    campaign = factories.campaign(launch=True, items=2)
    page = client.get(f"/work/next/?campaign={campaign.id}")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'method="post"' in html and 'name="csrfmiddlewaretoken"' in html
    assert f'name="campaign" value="{campaign.id}"' in html
    assert not Assignment.objects.filter(worker=user).exists()
    claimed = client.post("/work/next/", {"campaign": campaign.id})
    assert claimed["Crowdloop-Location"] == f"/work/assignments/{Assignment.objects.get(worker=user).id}/"


def test_work_next_post_needs_the_csrf_token(worker_client):
    from django.test import Client

    user, _ = worker_client
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    factories.campaign(launch=True, items=1)
    assert strict.post("/work/next/").status_code == 403
    assert not Assignment.objects.filter(worker=user).exists()


def test_work_assignment_without_answer_shows_message_and_stores_nothing(worker_client):
    user, client = worker_client
    campaign = factories.campaign(launch=True, items=1)
    client.post("/work/next/", {"campaign": campaign.id})
    assignment = Assignment.objects.get(worker=user)
    response = client.post(f"/work/assignments/{assignment.id}/", {"then": "next"})
    assert response.status_code == 400
    assert "Please answer this one." in response.content.decode()
    assert not Answer.objects.exists()


def test_work_assignment_unknown_label_is_refused(worker_client):
    user, client = worker_client
    campaign = factories.campaign(launch=True, items=1)
    client.post("/work/next/", {"campaign": campaign.id})
    assignment = Assignment.objects.get(worker=user)
    item_id = assignment.entries.get().item_id
    response = client.post(f"/work/assignments/{assignment.id}/", {f"item-{item_id}": "maybe"})
    assert response.status_code == 400
    assert "Please choose one of the options shown." in response.content.decode()
    assert "maybe" not in response.content.decode()  # no internal wording in front of the worker
    assert not Answer.objects.exists()


def test_work_assignment_of_someone_else_is_404(worker_client):
    _, client = worker_client
    other, _ = factories.worker()
    campaign = factories.campaign(launch=True, items=1)
    theirs = assignment_claim_next(worker=other, campaign_id=campaign.id).assignment
    assert client.get(f"/work/assignments/{theirs.id}/").status_code == 404
    assert client.post(f"/work/assignments/{theirs.id}/", {}).status_code == 404


def test_work_assignment_late_answers_are_kept_when_the_slot_is_free(worker_client):
    user, client = worker_client
    campaign = factories.campaign(launch=True, items=1, lease_seconds=60)
    client.post("/work/next/", {"campaign": campaign.id})
    assignment = Assignment.objects.get(worker=user)
    item_id = assignment.entries.get().item_id
    with time_machine.travel(assignment.expires_at + dt.timedelta(minutes=5), tick=False):
        assert assignment_expire_due() == 1
        response = client.post(f"/work/assignments/{assignment.id}/", {f"item-{item_id}": "pos"}, follow=True)
    assert "nobody else had taken it, so they were kept" in response.content.decode()
    assert Answer.objects.filter(worker=user).count() == 1


def test_work_assignment_late_answers_are_refused_plainly_when_the_slot_was_taken(worker_client):
    user, client = worker_client
    campaign = factories.campaign(launch=True, items=1, redundancy=1, max_redundancy=1, lease_seconds=60)
    other, _ = factories.worker()
    client.post("/work/next/", {"campaign": campaign.id})
    assignment = Assignment.objects.get(worker=user)
    item_id = assignment.entries.get().item_id
    with time_machine.travel(assignment.expires_at + dt.timedelta(minutes=5), tick=False):
        assert assignment_claim_next(worker=other, campaign_id=campaign.id).assignment is not None
        response = client.post(f"/work/assignments/{assignment.id}/", {f"item-{item_id}": "pos"}, follow=True)
    assert "could not be kept" in response.content.decode()
    assert not Answer.objects.exists()


def test_work_next_with_nothing_explains_why(worker_client):
    _, client = worker_client
    factories.campaign(launch=True, items=1, languages=["fr"])
    response = client.post("/work/next/")
    assert response.status_code == 200
    assert 'data-reason="no_language_match"' in response.content.decode()


def test_work_next_says_why_in_the_workers_language(worker_client):
    _, client = worker_client
    factories.campaign(launch=True, items=1, languages=["fr"])
    response = client.post("/work/next/", HTTP_ACCEPT_LANGUAGE="sw")
    assert "Hakuna kazi katika lugha zako kwa sasa." in response.content.decode()


def test_work_release_frees_the_slot(worker_client):
    user, client = worker_client
    campaign = factories.campaign(launch=True, items=1)
    client.post("/work/next/", {"campaign": campaign.id})
    assignment = Assignment.objects.get(worker=user)
    client.post(f"/work/assignments/{assignment.id}/release/", {"reason": "skip"})
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.RELEASED
    assert assignment.microtask.active_count == 0


def test_work_pages_require_sign_in(client):
    assert client.get("/work/").url.startswith("/accounts/login/")
    assert client.post("/work/next/").url.startswith("/accounts/login/")


def test_profile_sensitive_opt_in_is_saved(worker_client):
    user, client = worker_client
    response = client.post("/work/profile/", {"language_1": "sw", "language_level_1": "5", "sensitive_opt_in": "on"})
    assert response.status_code == 302
    user.worker_profile.refresh_from_db()
    assert user.worker_profile.sensitive_opt_in is True


def test_work_release_records_the_reason(worker_client):
    user, client = worker_client
    campaign = factories.campaign(launch=True, items=1)
    client.post("/work/next/", {"campaign": campaign.id})
    assignment = Assignment.objects.get(worker=user)
    client.post(f"/work/assignments/{assignment.id}/release/", {"reason": "offensive"})
    assignment.refresh_from_db()
    assert assignment.release_reason == "offensive"


def test_work_assignment_resubmit_after_submit_goes_home(worker_client):
    user, client = worker_client
    campaign = factories.campaign(launch=True, items=2)
    client.post("/work/next/", {"campaign": campaign.id})
    assignment = Assignment.objects.get(worker=user)
    item_id = assignment.entries.get().item_id
    client.post(f"/work/assignments/{assignment.id}/", {f"item-{item_id}": "pos", "then": "stop"})
    response = client.post(f"/work/assignments/{assignment.id}/", {f"item-{item_id}": "neg"})
    assert response.status_code == 302 and response.url == "/work/"
    assert Answer.objects.get(worker=user).label == "pos"


def test_work_assignment_redisplay_keeps_only_the_chosen_label_checked(worker_client):
    user, client = worker_client
    campaign = factories.campaign(launch=True, items=2, items_per_task=2, labels=["10", "1"])
    client.post("/work/next/", {"campaign": campaign.id})
    assignment = Assignment.objects.get(worker=user)
    first, _ = assignment.entries.order_by("position").values_list("item_id", flat=True)
    page = client.post(f"/work/assignments/{assignment.id}/", {f"item-{first}": "10"}).content.decode()
    assert page.count(" checked") == 1  # the attribute, not CSS; "1" is not checked because "10" contains it
    assert f'name="item-{first}" value="10" required checked' in page


def test_work_home_shows_the_hourly_pay_before_accepting(worker_client):
    _, client = worker_client
    factories.campaign(launch=True, items=2, reward="0.10", estimated_seconds=30)
    page = client.get("/work/").content.decode()
    assert "≈ 12.00 USD an hour (coordinator's estimate)" in page


def test_work_earnings_page_shows_rejection_reason_and_takes_one_appeal(worker_client):
    user, client = worker_client
    campaign = factories.campaign(launch=True, items=1)
    client.post("/work/next/", {"campaign": campaign.id})
    assignment = Assignment.objects.get(worker=user)
    item_id = assignment.entries.get().item_id
    client.post(f"/work/assignments/{assignment.id}/", {f"item-{item_id}": "pos", "then": "stop"})
    assignment_reject(
        assignment_id=assignment.id, decided_by_id=None, organization_ids=[campaign.organization_id], reason="Too fast"
    )
    page = client.get("/work/earnings/").content.decode()
    assert "Too fast" in page and f"/work/assignments/{assignment.id}/appeal/" in page
    response = client.post(f"/work/assignments/{assignment.id}/appeal/", {"message": "I read it all."}, follow=True)
    assert "Your appeal was sent" in response.content.decode()
    response = client.post(f"/work/assignments/{assignment.id}/appeal/", {"message": "Again"}, follow=True)
    assert "already appealed" in response.content.decode()
    assert Appeal.objects.filter(assignment=assignment).count() == 1


def test_work_earnings_page_shows_money_in_a_payout_batch_as_being_paid_out(worker_client):
    from crowd.services.approvals import assignment_approve
    from payments.payouts import payout_batch_confirm, payout_batch_create

    user, client = worker_client
    campaign = factories.campaign(launch=True, items=1)  # 0.10 USD a task
    client.post("/work/next/", {"campaign": campaign.id})
    assignment = Assignment.objects.get(worker=user)
    item_id = assignment.entries.get().item_id
    client.post(f"/work/assignments/{assignment.id}/", {f"item-{item_id}": "pos", "then": "stop"})
    organization_ids = [campaign.organization_id]
    assignment_approve(assignment_id=assignment.id, decided_by_id=None, organization_ids=organization_ids)
    batch, _created = payout_batch_create(
        organization_id=campaign.organization_id, created_by_id=None, currency="USD", threshold="0.01", reference="p"
    )
    page = client.get("/work/earnings/").content.decode()
    assert "approved, not paid yet 0.00 · being paid to you 0.10 · paid 0.00" in page
    payout_batch_confirm(batch_id=batch.id, organization_ids=organization_ids, decided_by_id=None)
    page = client.get("/work/earnings/").content.decode()
    assert "approved, not paid yet 0.00 · being paid to you 0.00 · paid 0.10" in page


def test_work_assignment_free_text_over_the_limit_is_refused_with_a_message(worker_client):
    from config.limits import FREE_TEXT_ANSWER_MAX

    user, client = worker_client
    campaign = factories.campaign(launch=True, items=1, task_type="free_text", labels=[])
    client.post("/work/next/", {"campaign": campaign.id})
    assignment = Assignment.objects.get(worker=user)
    item_id = assignment.entries.get().item_id
    response = client.post(f"/work/assignments/{assignment.id}/", {f"item-{item_id}": "x" * (FREE_TEXT_ANSWER_MAX + 1)})
    assert response.status_code == 400
    assert f"under {FREE_TEXT_ANSWER_MAX} characters" in response.content.decode()
    assert not Answer.objects.exists()


def test_earnings_history_speaks_plain_words_not_ledger_codes(worker_client):
    user, client = worker_client
    campaign = factories.campaign(launch=True, items=2, items_per_task=2, languages=["sw"])
    lease = assignment_claim_next(worker=user, campaign_id=campaign.id).assignment
    items = lease.entries.values_list("item_id", flat=True)
    answer_submit(worker=user, assignment_id=lease.id, raw_answers=[{"item": i, "label": "pos"} for i in items])
    page = client.get("/work/earnings/").content.decode()
    assert "pay for a task" in page and "(waiting for approval)" in page
    assert "reward" not in page and "(pending)" not in page
    swahili = client.get("/work/earnings/", HTTP_ACCEPT_LANGUAGE="sw").content.decode()
    assert "inasubiri kuidhinishwa" in swahili


def test_members_of_an_organization_see_a_link_to_the_coordinator_pages(worker_client, org_key):
    _, client = worker_client
    assert 'href="/manage/"' not in client.get("/work/").content.decode()
    owner = org_key[1]
    client.force_login(owner)
    assert 'href="/manage/"' in client.get("/work/earnings/").content.decode()


@pytest.mark.parametrize("reason", ["skip", "unclear", "offensive"])
def test_giving_a_task_back_asks_once_then_says_what_happened(worker_client, reason):
    user, client = worker_client
    campaign = factories.campaign(launch=True, items=1)
    client.post("/work/next/", {"campaign": campaign.id})
    assignment = Assignment.objects.get(worker=user)

    page = client.get(f"/work/assignments/{assignment.id}/release/?reason={reason}")
    assert page.status_code == 200
    assert "will not see it again" in page.content.decode()
    assert f'name="reason" value="{reason}"' in page.content.decode()
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.ACTIVE  # asking changes nothing

    done = client.post(f"/work/assignments/{assignment.id}/release/", {"reason": reason}, follow=True)
    assert "You will not see it again" in done.content.decode()
    assignment.refresh_from_db()
    assert (assignment.status, assignment.release_reason) == (Assignment.Status.RELEASED, reason)

    again = client.post(f"/work/assignments/{assignment.id}/release/", {"reason": reason}, follow=True)
    assert "That task is already finished." in again.content.decode()


def test_an_unknown_reason_is_a_skip_and_another_workers_task_is_not_found(worker_client):
    user, client = worker_client
    campaign = factories.campaign(launch=True, items=1)
    client.post("/work/next/", {"campaign": campaign.id})
    assignment = Assignment.objects.get(worker=user)
    assert 'value="skip"' in client.get(f"/work/assignments/{assignment.id}/release/?reason=nonsense").content.decode()
    other, _ = factories.worker()
    client.force_login(other)
    assert client.get(f"/work/assignments/{assignment.id}/release/").status_code == 404
    assert client.post(f"/work/assignments/{assignment.id}/release/", {"reason": "skip"}).status_code == 404


def test_signing_in_answers_with_the_work_home_in_the_accounts_language(client):
    """One round trip less on a slow link: the sign-in's answer is the home itself, in the account's language,
    and the page puts /work/ back in the address bar so a reload never sends the password again."""
    user, _ = factories.worker(username="halima")
    user.set_password("a-Long-pass-phrase-9")
    user.preferred_language = "ha"
    user.save(update_fields=["password", "preferred_language"])
    response = client.post(
        "/accounts/login/", {"login": "halima", "password": "a-Long-pass-phrase-9"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert response["Crowdloop-Location"] == "/work/"
    assert 'id="work-home"' in page and '<html lang="ha"' in page
    assert 'history.replaceState(null, "", "/work/")' in page
    assert client.get("/work/").status_code == 200  # signed in for the requests that follow


def test_signing_in_with_a_next_page_or_a_wrong_password_behaves_as_before(client):
    user, _ = factories.worker(username="idris")
    user.set_password("a-Long-pass-phrase-9")
    user.save(update_fields=["password"])
    wrong = client.post("/accounts/login/", {"login": "idris", "password": "nope"})
    assert wrong.status_code == 200 and 'id="work-home"' not in wrong.content.decode()
    credentials = {"login": "idris", "password": "a-Long-pass-phrase-9"}
    onward = client.post("/accounts/login/?next=/work/earnings/", credentials)
    assert (onward.status_code, onward["Location"]) == (302, "/work/earnings/")
