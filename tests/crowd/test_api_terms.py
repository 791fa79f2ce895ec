"""Consent is an act, through the API too: a worker enrolled by a partner app gets no work until the app has
shown the terms and the worker accepted them with their own token."""

import pytest
from rest_framework.test import APIClient

from crowd.models import Assignment
from tests import factories
from tests.factories import assert_error
from workers.models import TermsAcceptance, WorkerProfile
from workers.terms import TERMS_VERSION

pytestmark = pytest.mark.django_db

NEXT = "/api/v1/assignments/next/"
TERMS = "/api/v1/me/terms/"


def _worker_api(accept_terms: bool) -> tuple[object, APIClient]:
    user, key = factories.worker(accept_terms=accept_terms)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return user, client


def test_a_worker_who_has_not_accepted_the_terms_gets_no_work_and_hears_why():
    factories.campaign(launch=True, items=2)
    _, api = _worker_api(accept_terms=False)

    response = api.post(NEXT, {}, format="json")

    assert response.status_code == 204
    assert response["Crowdloop-Reason"] == "terms_not_accepted"
    assert not Assignment.objects.exists()


def test_the_terms_are_shown_in_the_asked_language_then_accepted_and_work_follows():
    factories.campaign(launch=True, items=2)
    user, api = _worker_api(accept_terms=False)

    shown = api.get(TERMS, HTTP_ACCEPT_LANGUAGE="sw")
    assert shown.status_code == 200
    body = shown.json()
    assert (body["version"], body["accepted"], body["accepted_at"], body["language"]) == (
        TERMS_VERSION,
        False,
        None,
        "sw",
    )
    assert [section["key"] for section in body["sections"]] == ["data", "pay", "appeals"]
    english = api.get(TERMS, HTTP_ACCEPT_LANGUAGE="en").json()["sections"][0]["text"]
    assert body["sections"][0]["text"] != english  # translated, not the English text again

    accepted = api.post(TERMS, {"version": TERMS_VERSION}, format="json")
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["accepted"] is True and accepted.json()["accepted_at"]
    assert WorkerProfile.objects.get(user=user).consent_at is not None
    assert api.post(NEXT, {}, format="json").status_code == 201


def test_accepting_twice_records_one_act():
    user, api = _worker_api(accept_terms=False)
    first = api.post(TERMS, {"version": TERMS_VERSION}, format="json").json()["accepted_at"]
    second = api.post(TERMS, {"version": TERMS_VERSION}, format="json").json()["accepted_at"]
    assert first == second
    assert TermsAcceptance.objects.filter(user=user).count() == 1


@pytest.mark.parametrize("body", [{}, {"version": ""}, {"version": 7}, ["2026-12"]])
def test_accepting_without_naming_the_version_is_a_400(body):
    user, api = _worker_api(accept_terms=False)
    assert_error(api.post(TERMS, body, format="json"), 400, "validation_error")
    assert not TermsAcceptance.objects.filter(user=user).exists()


def test_accepting_terms_the_app_did_not_show_is_a_409():
    user, api = _worker_api(accept_terms=False)
    assert_error(api.post(TERMS, {"version": "2020-01"}, format="json"), 409, "terms_changed")
    assert not TermsAcceptance.objects.filter(user=user).exists()


def test_an_organization_key_cannot_accept_terms_for_a_worker(org_api):
    response = org_api.post(TERMS, {"version": TERMS_VERSION}, format="json")
    assert response.status_code == 403
    assert not TermsAcceptance.objects.exists()
