"""Sign in by code at phone size: the organization issues a code, the worker types it, accepts the terms, works."""

import pytest

from workers.models import TermsAcceptance

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sign_in_by_code_accept_terms_and_reach_work(live_server, phone, org_api):
    worker = org_api.post(
        "/api/v1/workers/", {"username": "hadiza", "languages": [{"code": "ha", "level": 5}]}, format="json"
    ).json()
    code = org_api.post(f"/api/v1/workers/{worker['id']}/login-link/").json()["code"]
    page = phone.new_page()

    page.goto(f"{live_server.url}/accounts/login/")
    with page.expect_navigation():
        page.get_by_role("link", name="No email? Sign in with the code your organization sent you.").tap()
    page.get_by_label("Username").fill("hadiza")
    page.get_by_label("Code").fill(code)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").tap()
    assert page.url == f"{live_server.url}/accounts/welcome/"

    page.get_by_label("I have read this and I agree").tap()
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").tap()
    assert page.url == f"{live_server.url}/work/"
    assert TermsAcceptance.objects.filter(user_id=worker["id"]).exists()
