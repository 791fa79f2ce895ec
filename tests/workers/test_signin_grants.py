"""Sign-in links and codes for workers without email: issued by their organization, usable once, until they
expire, never by guessing; then the terms, accepted once, and an optional password."""

import threading

import pytest
import time_machine
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from crowd.models import Membership
from tests import factories
from tests.factories import assert_error
from workers.models import SignInGrant, TermsAcceptance, User
from workers.terms import TERMS_VERSION

pytestmark = pytest.mark.django_db


def _enrolled(org_api, username: str = "fatima") -> int:
    body = org_api.post(
        "/api/v1/workers/", {"username": username, "languages": [{"code": "ha", "level": 5}]}, format="json"
    ).json()
    return body["id"]


def _issue(org_api, worker_id: int) -> dict:
    response = org_api.post(f"/api/v1/workers/{worker_id}/login-link/")
    assert response.status_code == 201, response.content
    return response.json()


def _path(url: str) -> str:
    return url.split("testserver", 1)[1]


def test_link_signs_in_once_and_leads_to_the_terms(org_api):
    worker_id = _enrolled(org_api)
    grant = _issue(org_api, worker_id)
    assert grant["code"].isdigit() and len(grant["code"]) == 8
    client = Client()

    preview = client.get(_path(grant["url"]))  # a chat app drawing a preview must not use the link up
    assert preview.status_code == 200 and SignInGrant.objects.get(user_id=worker_id).used_at is None

    response = client.post(_path(grant["url"]))
    assert (response.status_code, response["Location"]) == (302, "/accounts/welcome/")
    assert client.get("/work/earnings/").status_code == 200  # signed in

    again = Client().post(_path(grant["url"]))
    assert again.status_code == 410
    assert "already used" in again.content.decode()


def test_code_with_username_signs_in_once(org_api):
    worker_id = _enrolled(org_api)
    grant = _issue(org_api, worker_id)
    client = Client()
    response = client.post(
        "/accounts/code/", {"username": "FATIMA", "code": f" {grant['code'][:4]} {grant['code'][4:]}"}
    )
    assert (response.status_code, response["Location"]) == (302, "/accounts/welcome/")
    reused = Client().post("/accounts/code/", {"username": "fatima", "code": grant["code"]})
    assert reused.status_code == 400 and "already used" in reused.content.decode()


def test_expired_grant_is_refused_plainly_in_the_workers_language(org_api):
    worker_id = _enrolled(org_api)
    grant = _issue(org_api, worker_id)
    with time_machine.travel(timezone.now() + timezone.timedelta(hours=25)):
        response = Client().post(_path(grant["url"]), HTTP_ACCEPT_LANGUAGE="sw")
    assert response.status_code == 410
    assert '<html lang="sw"' in response.content.decode()


def test_a_new_grant_revokes_the_older_one(org_api):
    worker_id = _enrolled(org_api)
    old = _issue(org_api, worker_id)
    new = _issue(org_api, worker_id)
    assert Client().post(_path(old["url"])).status_code == 410
    assert Client().post("/accounts/code/", {"username": "fatima", "code": new["code"]}).status_code == 302


def test_wrong_codes_revoke_the_grant(org_api):
    worker_id = _enrolled(org_api)
    grant = _issue(org_api, worker_id)
    wrong = "00000000" if grant["code"] != "00000000" else "11111111"
    for _ in range(5):
        assert Client().post("/accounts/code/", {"username": "fatima", "code": wrong}).status_code == 400
    # The right code no longer works: five guesses used the grant up.
    assert Client().post("/accounts/code/", {"username": "fatima", "code": grant["code"]}).status_code == 400


def test_code_attempts_are_throttled_per_address(org_api, settings):
    settings.CROWDLOOP_SIGNIN_CODE_ATTEMPTS_PER_MINUTE = 3
    client = Client(REMOTE_ADDR="192.0.2.77")
    statuses = [
        client.post("/accounts/code/", {"username": "nobody", "code": "12345678"}).status_code for _ in range(5)
    ]
    assert statuses[:3] == [400, 400, 400] and statuses[3:] == [429, 429]


@pytest.mark.parametrize("token", ["x", "a" * 500, "%00"])
def test_unknown_links_are_a_clear_404(token):
    response = Client().post(f"/accounts/link/{token}/")
    assert response.status_code in (400, 404)


def test_only_the_enrolling_organization_may_issue(org_api, org_key):
    stranger, _ = factories.worker()
    assert_error(org_api.post(f"/api/v1/workers/{stranger.id}/login-link/"), 404, "not_found")
    viewer = factories.membership_client(organization=org_key[0], role=Membership.Role.VIEWER)
    assert_error(viewer.post(f"/api/v1/workers/{_enrolled(org_api)}/login-link/"), 403, "permission_denied")


def test_a_deactivated_worker_cannot_use_a_grant(org_api):
    worker_id = _enrolled(org_api)
    grant = _issue(org_api, worker_id)
    User.objects.filter(pk=worker_id).update(is_active=False)
    assert Client().post(_path(grant["url"])).status_code == 410


def test_welcome_records_the_terms_once_and_sets_an_optional_password(org_api):
    worker_id = _enrolled(org_api)
    grant = _issue(org_api, worker_id)
    client = Client()
    client.post(_path(grant["url"]))

    refused = client.post("/accounts/welcome/", {"password1": "short", "password2": "short"})
    assert refused.status_code == 400
    assert not TermsAcceptance.objects.filter(user_id=worker_id).exists()

    done = client.post(
        "/accounts/welcome/", {"accept": "on", "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"}
    )
    assert (done.status_code, done["Location"]) == (302, "/work/")
    acceptance = TermsAcceptance.objects.get(user_id=worker_id)
    assert acceptance.version == TERMS_VERSION
    assert User.objects.get(pk=worker_id).check_password("a-long-pass-phrase-9")
    assert client.get("/work/").status_code == 200  # still signed in after the password change
    client.post("/accounts/welcome/", {"accept": "on"})
    assert TermsAcceptance.objects.filter(user_id=worker_id).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_simultaneous_uses_of_one_link_sign_in_once(org_api):
    worker_id = _enrolled(org_api)
    grant = _issue(org_api, worker_id)
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def use() -> None:
        try:
            barrier.wait()
            statuses.append(Client().post(_path(grant["url"])).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [302, 410, 410, 410]


def test_the_sign_in_page_points_to_the_code_form():
    page = Client().get("/accounts/login/").content.decode()
    assert 'href="/accounts/code/"' in page


def test_work_pages_wait_for_the_terms_but_own_records_do_not(org_api):
    worker_id = _enrolled(org_api)
    assert User.objects.get(pk=worker_id).worker_profile.consent_at is None  # enrolling is not consenting
    client = Client()
    client.force_login(User.objects.get(pk=worker_id))
    assert client.get("/work/")["Location"] == "/accounts/welcome/"
    assert client.post("/work/next/")["Location"] == "/accounts/welcome/"
    assert client.get("/work/earnings/").status_code == 200
    assert client.get("/work/profile/").status_code == 200
    client.post("/accounts/welcome/", {"accept": "on"})
    assert client.get("/work/").status_code == 200
    assert User.objects.get(pk=worker_id).worker_profile.consent_at is not None
