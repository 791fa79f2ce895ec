"""Which language a page is served in: picker, then the account's choice, then Accept-Language, then English."""

import pytest
from django.test import Client

from tests import factories
from workers.models import User

pytestmark = pytest.mark.django_db


def _signed_in(preferred: str = "") -> tuple[Client, User]:
    user, _ = factories.worker()
    if preferred:
        User.objects.filter(pk=user.pk).update(preferred_language=preferred)
    client = Client()
    client.force_login(user)
    return client, user


def _lang(response) -> str:
    return response.headers["Content-Language"]


def test_browser_language_is_used_when_nothing_was_chosen():
    response = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="sw-KE,sw;q=0.9,en;q=0.5")
    assert _lang(response) == "sw"
    assert '<html lang="sw" dir="ltr">' in response.content.decode()
    assert "Ingia" in response.content.decode()


def test_unknown_browser_language_falls_back_to_english():
    response = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="xx-YY,zz")
    assert _lang(response) == "en"


def test_arabic_is_laid_out_right_to_left():
    response = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="ar")
    page = response.content.decode()
    assert '<html lang="ar" dir="rtl">' in page
    # The page's own style uses logical properties only, so the mirrored direction is the whole story.
    for physical in ("margin-left", "margin-right", "padding-left", "padding-right", "text-align:start", "float:"):
        assert physical not in page


def test_every_page_carries_the_picker_with_each_language_named_in_itself():
    page = Client().get("/accounts/login/").content.decode()
    assert 'class="language-picker"' in page
    for code, name in (("ha", "Hausa"), ("ar", "العربية"), ("hi", "हिन्दी"), ("sw", "Kiswahili")):
        assert f'<option value="{code}" lang="{code}">{name}</option>' in page


def test_saved_language_beats_the_browser_for_a_signed_in_worker():
    client, _ = _signed_in(preferred="ha")
    response = client.get("/work/", HTTP_ACCEPT_LANGUAGE="fr")
    assert _lang(response) == "ha"
    assert "Fita" in response.content.decode()  # "Sign out" in Hausa


def test_saved_regional_tag_uses_its_language():
    client, _ = _signed_in(preferred="sw-TZ")
    assert _lang(client.get("/work/")) == "sw"


def test_picker_beats_the_saved_language_and_is_saved_on_the_account():
    client, user = _signed_in(preferred="ha")
    response = client.post("/language/", {"language": "ar", "next": "/work/earnings/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/work/earnings/"
    user.refresh_from_db()
    assert user.preferred_language == "ar"
    assert _lang(client.get("/work/")) == "ar"


def test_choice_follows_the_worker_to_another_device():
    client, user = _signed_in()
    client.post("/language/", {"language": "hi", "next": "/work/"})
    other_phone = Client()
    other_phone.force_login(user)
    assert _lang(other_phone.get("/work/", HTTP_ACCEPT_LANGUAGE="en")) == "hi"


def test_signed_out_choice_is_kept_in_the_browser_only():
    client = Client()
    response = client.post("/language/", {"language": "pt", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert _lang(client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="sw")) == "pt"


@pytest.mark.parametrize("bad", ["", "xx", "../../etc", "a" * 500])
def test_unknown_choice_changes_nothing_and_is_not_an_error(bad):
    client, user = _signed_in(preferred="sw")
    response = client.post("/language/", {"language": bad, "next": "/work/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/work/"
    user.refresh_from_db()
    assert user.preferred_language == "sw"


def test_nul_in_the_choice_is_a_clear_400_and_saves_nothing():
    client, user = _signed_in(preferred="sw")
    assert client.post("/language/", {"language": "ar\x00", "next": "/work/"}).status_code == 400
    user.refresh_from_db()
    assert user.preferred_language == "sw"


def test_picker_never_redirects_off_site():
    response = Client().post("/language/", {"language": "fr", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]
    response = Client().post("/language/", {"language": "xx", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_picker_refuses_get():
    assert Client().get("/language/?language=fr").status_code == 405


def test_api_errors_stay_english_for_a_worker_who_chose_another_language():
    token_user, token = factories.worker(languages=(("sw", 5),))
    User.objects.filter(pk=token_user.pk).update(preferred_language="sw")
    response = Client().get("/api/v1/assignments/999999/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 404
    assert _lang(response) == "en"
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("language", "words"),
    [("sw", ["Nikumbuke", "Umesahau nenosiri lako?"]), ("ha", ["Ka tuna da ni"]), ("hi", ["मुझे याद रखें"])],
)
def test_allauths_sign_in_page_is_translated_where_allauth_ships_no_catalog(language, words):
    page = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    for word in words:
        assert word in page
    assert "Remember Me" not in page
