"""Recovery codes for workers without email: shown once, each works once, a new set replaces the old."""

import re

import pytest
from django.test import Client

from crowd.services.accounts import worker_delete_account
from tests import factories
from workers.models import RecoveryCode

pytestmark = pytest.mark.django_db

NEW = "a-long-pass-phrase-9"


def _worker_with_codes() -> tuple[object, list[str]]:
    user, _ = factories.worker(username="bahati")
    client = Client()
    client.force_login(user)
    page = client.post("/accounts/recovery-codes/").content.decode()
    return user, re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", page)


def _recover(code: str, username: str = "bahati", password: str = NEW):
    return Client().post(
        "/accounts/recover/", {"username": username, "code": code, "password1": password, "password2": password}
    )


def test_codes_are_shown_once_stored_as_digests_and_each_works_once():
    user, codes = _worker_with_codes()
    assert len(codes) == 8 and all(len(code) == 11 and code[5] == "-" for code in codes)
    assert not RecoveryCode.objects.filter(digest__in=codes).exists()

    response = _recover(codes[0].upper().replace("-", " "))  # typed in capitals with a space
    assert (response.status_code, response["Location"]) == (302, "/work/")
    user.refresh_from_db()
    assert user.check_password(NEW)
    assert _recover(codes[0]).status_code == 400  # used up
    assert _recover(codes[1]).status_code == 302


def test_a_new_set_replaces_the_old_one():
    user, old = _worker_with_codes()
    client = Client()
    client.force_login(user)
    client.post("/accounts/recovery-codes/")
    assert _recover(old[0]).status_code == 400
    assert RecoveryCode.objects.filter(user=user).count() == 8


@pytest.mark.parametrize(
    ("username", "code", "password"),
    [("nobody", "abcde-fghjk", NEW), ("bahati", "wrong-codes", NEW), ("bahati", "", NEW), ("bahati", "x" * 500, NEW)],
)
def test_wrong_recovery_attempts_are_refused_plainly(username, code, password):
    user, _ = _worker_with_codes()
    response = _recover(code, username=username, password=password)
    assert response.status_code == 400
    user.refresh_from_db()
    assert not user.check_password(NEW)


def test_a_weak_new_password_is_refused_and_the_code_is_kept():
    _, codes = _worker_with_codes()
    assert _recover(codes[0], password="123").status_code == 400
    assert _recover(codes[0]).status_code == 302


def test_deleting_the_account_removes_its_codes():
    user, codes = _worker_with_codes()
    worker_delete_account(worker_id=user.id)
    assert not RecoveryCode.objects.filter(user=user).exists()
    assert _recover(codes[0]).status_code == 400


def test_the_profile_of_a_worker_without_email_points_to_recovery_codes():
    user, _ = factories.worker()
    client = Client()
    client.force_login(user)
    page = client.get("/work/profile/").content.decode()
    assert 'href="/accounts/recovery-codes/"' in page and "You have no email address" in page
