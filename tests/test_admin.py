"""Every model's admin page opens for a superuser (changelists render with real rows); password sign-in to the
admin and the site is throttled per account and address."""

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib import admin
from django.test import Client
from django.utils import timezone

from tests import factories
from workers.models import User
from workers.signin import client_ip

pytestmark = pytest.mark.django_db


def test_every_admin_changelist_opens(client):
    factories.campaign(launch=True, items=2)
    client.force_login(User.objects.create_superuser(username="root", email="root@example.org", password="x"))
    for model in admin.site._registry:
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert client.get(url).status_code == 200, url


# Sign-in throttling (django-axes): failures count per account and address together.

ADMIN_LOGIN = "/admin/login/"
ALLAUTH_LOGIN = "/accounts/login/"
STRANGER, COORDINATOR_HOME, CAFE = "203.0.113.9", "198.51.100.7", "192.0.2.44"


@pytest.fixture
def throttled(settings):
    settings.AXES_ENABLED = True
    return settings


@pytest.fixture
def coordinator(db) -> User:
    return User.objects.create_user(username="coordinator", password="right horse battery", is_staff=True)


def admin_sign_in(client, username: str, password: str, address: str, **headers):
    return client.post(ADMIN_LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def signed_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.wsgi_request.session


def fail_five_times(sign_in, username: str, address: str, **headers) -> list[int]:
    return [sign_in(Client(), username, "wrong", address, **headers).status_code for _ in range(5)]


def test_admin_wrong_passwords_lock_that_address_for_that_user_only(throttled, coordinator):
    # The form is shown again for the first four failures; the fifth locks (429).
    assert fail_five_times(admin_sign_in, "coordinator", STRANGER) == [200, 200, 200, 200, 429]
    locked = admin_sign_in(Client(), "coordinator", "right horse battery", STRANGER)
    assert locked.status_code == 429 and "Too many attempts" in locked.content.decode()
    assert not signed_in(locked)

    # The coordinator, from their own address, still signs in; so does anyone else from the stranger's address.
    assert signed_in(admin_sign_in(Client(), "coordinator", "right horse battery", COORDINATOR_HOME))
    User.objects.create_user(username="owner", password="another pass phrase", is_staff=True)
    assert signed_in(admin_sign_in(Client(), "owner", "another pass phrase", STRANGER))


def test_the_lock_ignores_case_and_ends_after_the_cool_off(throttled, coordinator):
    assert fail_five_times(admin_sign_in, "Coordinator", STRANGER)[-1] == 429
    assert admin_sign_in(Client(), "COORDINATOR", "wrong", STRANGER).status_code == 429
    with time_machine.travel(timezone.now() + throttled.AXES_COOLOFF_TIME + timedelta(seconds=1)):
        assert signed_in(admin_sign_in(Client(), "coordinator", "right horse battery", STRANGER))


def test_a_success_clears_the_count(throttled, coordinator):
    for _ in range(4):
        admin_sign_in(Client(), "coordinator", "wrong", COORDINATOR_HOME)
    assert signed_in(admin_sign_in(Client(), "coordinator", "right horse battery", COORDINATOR_HOME))
    assert fail_five_times(admin_sign_in, "coordinator", COORDINATOR_HOME)[:4] == [200, 200, 200, 200]


def allauth_sign_in(client, login: str, password: str, address: str, **headers):
    return client.post(ALLAUTH_LOGIN, {"login": login, "password": password}, REMOTE_ADDR=address, **headers)


def test_site_sign_in_is_throttled_the_same_way(throttled, coordinator):
    assert fail_five_times(allauth_sign_in, "coordinator", STRANGER) == [200, 200, 200, 200, 429]
    locked = allauth_sign_in(Client(), "coordinator", "right horse battery", STRANGER)
    assert locked.status_code == 429 and not signed_in(locked)
    assert signed_in(allauth_sign_in(Client(), "coordinator", "right horse battery", COORDINATOR_HOME))


def test_guesses_by_name_and_by_email_address_share_one_count(throttled):
    # An address no other test signs in from: allauth's own failure limit lives in the cache across tests.
    User.objects.create_user(username="amina", email="Amina@ngo.example", password="right horse battery")
    for login in ("amina", "amina@ngo.example", "AMINA", "amina@NGO.example"):
        assert allauth_sign_in(Client(), login, "wrong", "192.0.2.99").status_code == 200
    assert allauth_sign_in(Client(), "amina@ngo.example", "wrong", "192.0.2.99").status_code == 429
    assert allauth_sign_in(Client(), "amina", "right horse battery", "192.0.2.99").status_code == 429


def test_forwarded_for_is_ignored_unless_a_proxy_is_configured(throttled, coordinator):
    """Without a configured proxy the header is the client's own words: changing it must not escape the lock."""
    assert fail_five_times(admin_sign_in, "coordinator", STRANGER, HTTP_X_FORWARDED_FOR=CAFE)[-1] == 429
    spoofed = admin_sign_in(Client(), "coordinator", "right horse battery", STRANGER, HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert spoofed.status_code == 429


def test_behind_a_configured_proxy_the_address_it_saw_counts(throttled, coordinator):
    throttled.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    # The stranger prepends a made-up address; the proxy appends the one it saw, and that one counts.
    headers = {"HTTP_X_FORWARDED_FOR": f"{COORDINATOR_HOME}, {STRANGER}"}
    assert fail_five_times(admin_sign_in, "coordinator", proxy, **headers)[-1] == 429
    assert admin_sign_in(Client(), "coordinator", "wrong", proxy, HTTP_X_FORWARDED_FOR=STRANGER).status_code == 429
    # The coordinator comes through the same proxy from their own address.
    own = admin_sign_in(Client(), "coordinator", "right horse battery", proxy, HTTP_X_FORWARDED_FOR=COORDINATOR_HOME)
    assert signed_in(own)


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "192.0.2.44", "10.0.0.2"),
        (1, "", "10.0.0.2"),
        (1, "192.0.2.44", "192.0.2.44"),
        (1, "1.2.3.4, 192.0.2.44", "192.0.2.44"),
        (2, "1.2.3.4, 192.0.2.44, 10.0.0.1", "192.0.2.44"),
        (2, "192.0.2.44", "10.0.0.2"),
    ],
)
def test_client_ip(settings, rf, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_api_tokens_are_not_password_sign_ins(throttled, org_key, api):
    """Bad tokens are refused (401) but never lock a person out of signing in."""
    api.credentials(HTTP_AUTHORIZATION="Token clo_wrong")
    for _ in range(8):
        assert api.get("/api/v1/campaigns/", REMOTE_ADDR=STRANGER).status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Token {org_key[2]}")
    assert api.get("/api/v1/campaigns/", REMOTE_ADDR=STRANGER).status_code == 200
    assert not AccessAttempt.objects.exists()
