"""Enrolling workers through the REST API: profile, normalized languages, a working token, bad input."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from crowd.models import Membership
from tests import factories
from tests.factories import assert_error
from workers.models import User, WorkerLanguage, WorkerProfile, WorkerSkill, WorkerToken

pytestmark = pytest.mark.django_db

URL = "/api/v1/workers/"


def _payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "username": "wanjiru",
        "email": "wanjiru@example.org",
        "country": "KE",
        "languages": [{"code": "sw", "level": 5}, {"code": "en", "level": 3}],
        "skills": [{"slug": "medical-images", "level": 2}],
    }
    body.update(overrides)
    return body


def _rows() -> tuple[int, int, int, int, int]:
    return (
        User.objects.count(),
        WorkerProfile.objects.count(),
        WorkerLanguage.objects.count(),
        WorkerSkill.objects.count(),
        WorkerToken.objects.count(),
    )


def test_worker_enroll_creates_profile_and_token(org_api, org_key):
    response = org_api.post(URL, _payload(), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"id", "token"}
    assert body["username"] == "wanjiru"
    profile = WorkerProfile.objects.get(user_id=body["id"])
    assert profile.user.username == "wanjiru" and profile.user.email == "wanjiru@example.org"
    assert str(profile.country) == "KE"
    assert profile.enrolled_by_id == org_key[0].id
    assert profile.consent_at is None  # enrolling is not consenting: the worker accepts the terms themselves
    assert not profile.user.has_usable_password()
    assert dict(profile.languages.values_list("code", "level")) == {"sw": 5, "en": 3}
    assert dict(profile.skills.values_list("slug", "level")) == {"medical-images": 2}
    # Only the digest is stored.
    assert not WorkerToken.objects.filter(digest=body["token"]).exists()


def test_worker_enroll_token_works(org_api):
    token = org_api.post(URL, _payload(), format="json").json()["token"]
    worker = APIClient()
    worker.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    earnings = worker.get("/api/v1/me/earnings/")
    nothing = worker.post("/api/v1/assignments/next/", {}, format="json")

    assert earnings.status_code == 200
    assert (earnings.json()["pending"], earnings.json()["entries"]) == ("0.00", [])
    assert nothing.status_code == 204
    # A worker token is not an organization key.
    assert_error(worker.post(URL, _payload(username="other"), format="json"), 403, "permission_denied")


@pytest.mark.parametrize(
    ("languages", "expected"),
    [
        ([{"code": "swa", "level": 4}], {"sw": 4}),
        ([{"code": "sw-KE", "level": 4}], {"sw": 4}),
        ([{"code": "SW_ke", "level": 2}, {"code": "swa", "level": 5}, {"code": "sw", "level": 1}], {"sw": 5}),
        ([{"code": "luo", "level": 3}], {"luo": 3}),
        ([{"code": "eng", "level": 5}, {"code": "ara", "level": 2}], {"en": 5, "ar": 2}),
    ],
)
def test_worker_enroll_normalizes_language_tags(org_api, languages, expected):
    response = org_api.post(URL, _payload(languages=languages), format="json")

    assert response.status_code == 201, response.content
    assert dict(WorkerLanguage.objects.values_list("code", "level")) == expected


@pytest.mark.parametrize("code", ["klingon!", "zz-9", "", "123"])
def test_worker_enroll_invalid_language_names_the_field(org_api, code):
    before = _rows()

    languages = [{"code": "sw", "level": 3}, {"code": code, "level": 3}]
    response = org_api.post(URL, _payload(languages=languages), format="json")

    error = assert_error(response, 400, "validation_error")
    assert "languages" in error["fields"]
    assert _rows() == before


def test_worker_enroll_invalid_language_points_at_the_entry(org_api):
    languages = [{"code": "sw", "level": 3}, {"code": "notalanguage", "level": 3}]

    error = assert_error(org_api.post(URL, _payload(languages=languages), format="json"), 400, "validation_error")

    assert error["fields"]["languages"] == {"1": error["fields"]["languages"]["1"]}
    assert "notalanguage" in error["fields"]["languages"]["1"]
    assert not User.objects.filter(username="wanjiru").exists()


@pytest.mark.parametrize(
    "overrides",
    [
        {"languages": [{"code": "sw", "level": 0}]},
        {"languages": [{"code": "sw", "level": 6}]},
        {"skills": [{"slug": "medical-images", "level": 9}]},
        {"skills": [{"slug": "not a slug", "level": 2}]},
    ],
)
def test_worker_enroll_level_or_skill_out_of_range(org_api, overrides):
    before = _rows()

    error = assert_error(org_api.post(URL, _payload(**overrides), format="json"), 400, "validation_error")

    assert set(error["fields"]) & {"languages", "skills"}
    assert _rows() == before


def test_worker_enroll_without_languages_is_refused(org_api):
    body = _payload()
    del body["languages"]
    before = _rows()

    error = assert_error(org_api.post(URL, body, format="json"), 400, "validation_error")

    assert "languages" in error["fields"]
    assert _rows() == before


def test_worker_enroll_duplicate_skill_keeps_the_higher_level(org_api):
    skills = [{"slug": "medical-images", "level": 2}, {"slug": "medical-images", "level": 4}]

    response = org_api.post(URL, _payload(skills=skills), format="json")

    assert response.status_code == 201, response.content
    assert dict(WorkerSkill.objects.values_list("slug", "level")) == {"medical-images": 4}


def test_worker_enroll_duplicate_username_conflicts_and_writes_nothing(org_api):
    assert org_api.post(URL, _payload(), format="json").status_code == 201
    before = _rows()

    response = org_api.post(URL, _payload(email="someone@else.example", country="UG"), format="json")

    error = assert_error(response, 409, "duplicate")
    assert "username" in error["fields"]
    assert _rows() == before
    assert str(WorkerProfile.objects.get(user__username="wanjiru").country) == "KE"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"username": "WanJiru", "email": "someone@else.example"}, "username"),  # the same name, other case
        ({"username": "amina", "email": " Wanjiru@Example.org"}, "email"),  # another person's address
    ],
)
def test_worker_enroll_refuses_a_name_or_address_another_account_holds(org_api, overrides, field):
    assert org_api.post(URL, _payload(), format="json").status_code == 201
    before = _rows()
    error = assert_error(org_api.post(URL, _payload(**overrides), format="json"), 409, "duplicate")
    assert field in error["fields"]
    assert _rows() == before


@pytest.mark.parametrize("country", ["ke", "KEN", "Kenya", "404"])
def test_worker_enroll_country_is_normalized_to_alpha_2(org_api, country):
    response = org_api.post(URL, _payload(country=country), format="json")

    assert response.status_code == 201, response.content
    assert str(WorkerProfile.objects.get().country) == "KE"


@pytest.mark.parametrize("country", ["XX", "Narnia", "1", "K"])
def test_worker_enroll_bad_country_is_refused(org_api, country):
    before = _rows()

    error = assert_error(org_api.post(URL, _payload(country=country), format="json"), 400, "validation_error")

    assert "country" in error["fields"]
    assert _rows() == before


@pytest.mark.parametrize(("field", "value"), [("username", "has space"), ("username", ""), ("email", "not-an-email")])
def test_worker_enroll_bad_identity_is_refused(org_api, field, value):
    before = _rows()

    error = assert_error(org_api.post(URL, _payload(**{field: value}), format="json"), 400, "validation_error")

    assert field in error["fields"]
    assert _rows() == before


def test_worker_enroll_by_viewer_is_forbidden(org_key):
    viewer = factories.membership_client(organization=org_key[0], role=Membership.Role.VIEWER)
    before = _rows()

    assert_error(viewer.post(URL, _payload(), format="json"), 403, "permission_denied")
    assert _rows() == before


def test_worker_enroll_unauthenticated_is_refused(api):
    assert_error(api.post(URL, _payload(), format="json"), 401, "not_authenticated")
    assert not User.objects.exists()
