"""Rate limits: each API key, worker token, signed-in user and client address has its own budget; over it, 429 in
the error shape with Retry-After. The clock is frozen, so a window cannot end in the middle of a test."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from crowd.services.organizations import api_key_create
from tests.crowd.pages import logged_in
from tests.factories import assert_error

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 10, 0, 5, tzinfo=UTC)  # 5 s into a minute: 55 s left in the window


@pytest.fixture(autouse=True)
def low_rates():
    rates = {"api_key": "3/min", "worker": "2/min", "user": "2/min", "anon": "2/min"}
    cache.clear()
    with (
        override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}),
        time_machine.travel(START, tick=False) as clock,
    ):
        yield clock
    cache.clear()


def _throttled(response) -> int:
    error = assert_error(response, 429, "throttled")
    assert error["message"]
    return int(response["Retry-After"])


def test_api_key_rate_limit_answers_429_with_retry_after(org_key, low_rates):
    organization, owner, key = org_key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert [client.get("/api/v1/campaigns/").status_code for _ in range(3)] == [200, 200, 200]

    assert _throttled(client.get("/api/v1/campaigns/")) == 55
    assert _throttled(client.post("/api/v1/campaigns/", {"name": "x"}, format="json")) == 55  # every method

    other = APIClient()  # another key of the same organization has its own budget
    other.credentials(
        HTTP_AUTHORIZATION=f"Token {api_key_create(organization_id=organization.id, created_by_id=owner.id)}"
    )
    assert other.get("/api/v1/campaigns/").status_code == 200

    low_rates.move_to(START + timedelta(seconds=55))  # the next window
    assert client.get("/api/v1/campaigns/").status_code == 200


def test_worker_token_rate_limit_is_per_token(make_worker):
    _first, first = make_worker("amina")
    _second, second = make_worker("baraka")
    assert [first.get("/api/v1/me/earnings/").status_code for _ in range(2)] == [200, 200]
    assert _throttled(first.post("/api/v1/assignments/next/", {}, format="json")) >= 1
    assert second.get("/api/v1/me/earnings/").status_code == 200


def test_anonymous_and_session_callers_are_limited_too(org_key):
    _organization, owner, _ = org_key
    anonymous = APIClient()
    assert [anonymous.get("/api/v1/campaigns/").status_code for _ in range(2)] == [401, 401]
    _throttled(anonymous.get("/api/v1/campaigns/"))
    elsewhere = APIClient(REMOTE_ADDR="10.0.0.9")
    assert elsewhere.get("/api/v1/campaigns/").status_code == 401  # another address, its own budget
    # A forged X-Forwarded-For does not buy a fresh budget (no proxy is configured in front of the app).
    _throttled(anonymous.get("/api/v1/campaigns/", HTTP_X_FORWARDED_FOR="192.0.2.1"))

    session = logged_in(owner)
    assert [session.get("/api/v1/campaigns/").status_code for _ in range(2)] == [200, 200]
    _throttled(session.get("/api/v1/campaigns/"))


def test_guessing_keys_spends_the_address_budget(org_key):
    guesser = APIClient()
    guesser.credentials(HTTP_AUTHORIZATION="Token clo_not-a-key")
    assert [guesser.get("/api/v1/campaigns/").status_code for _ in range(2)] == [401, 401]
    _throttled(guesser.get("/api/v1/campaigns/"))
    guesser.credentials(HTTP_AUTHORIZATION=f"Token {org_key[2]}")
    assert guesser.get("/api/v1/campaigns/").status_code == 200  # a real key has its own budget
