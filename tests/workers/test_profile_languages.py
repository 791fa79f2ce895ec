"""The profile speaks the worker's language: languages by name or code (any BCP 47 tag), names and countries in
the interface language, skills that campaigns need suggested."""

import pytest
from django.test import Client

from tests import factories
from workers.languages import InvalidLanguage, language_display_name, language_from_input
from workers.models import User, WorkerLanguage

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("typed", "tag"),
    [
        ("Arabic", "ar"),
        ("Kiarabu", "ar"),  # Arabic, named in Kiswahili
        ("Hausa", "ha"),
        ("हिन्दी", "hi"),
        ("Kiswahili (sw)", "sw"),  # a suggestion as the datalist shows it
        ("swa", "sw"),
        ("dyu", "dyu"),  # Jula: a low-resource language with a 3-letter code only
        ("Dioula", "dyu"),
        ("ff-Latn", "ff-Latn"),
        ("sw_KE", "sw-KE"),
        ("  luo ", "luo"),
    ],
)
def test_language_from_a_name_or_a_tag(typed, tag):
    assert language_from_input(typed) == tag


@pytest.mark.parametrize("typed", ["", "zz-notreal", "Qwxzy", "x" * 500, "12", "(sw"])
def test_unknown_language_is_refused(typed):
    with pytest.raises(InvalidLanguage):
        language_from_input(typed)


def test_names_are_in_the_readers_language():
    assert language_display_name("ha", "sw") == "Kihausa"
    assert language_display_name("ar", "ha") == "Larabci"
    assert language_display_name("sw", "ar") == "السواحلية"
    assert language_display_name("sw", "en") == "Swahili"


def _client(interface: str) -> tuple[User, Client]:
    user, _ = factories.worker(languages=(("sw", 5),))
    User.objects.filter(pk=user.pk).update(preferred_language=interface)
    client = Client()
    client.force_login(user)
    return user, client


def test_profile_saves_languages_typed_by_name(client):
    user, client = _client("en")
    response = client.post(
        "/work/profile/",
        {"language_1": "Hausa", "language_level_1": "5", "language_2": "Kiarabu", "language_level_2": "2"},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    assert dict(WorkerLanguage.objects.filter(profile__user=user).values_list("code", "level")) == {"ha": 5, "ar": 2}


def test_profile_shows_languages_and_countries_in_the_interface_language():
    user, client = _client("sw")
    user.worker_profile.country = "TZ"
    user.worker_profile.save()
    page = client.get("/work/profile/").content.decode()
    assert 'value="Kiswahili (sw)"' in page  # the worker's language, named in Kiswahili
    assert '<option value="Kihausa (ha)">' in page  # suggestions in Kiswahili
    assert '<option value="TZ" selected>Tanzania</option>' in page
    assert "Marekani" in page  # the United States, in Kiswahili


def test_profile_in_arabic_names_countries_in_arabic():
    _, client = _client("ar")
    page = client.get("/work/profile/").content.decode()
    assert "كينيا" in page  # Kenya


def test_unknown_language_names_what_was_typed_and_keeps_the_old_ones():
    user, client = _client("en")
    response = client.post("/work/profile/", {"language_1": "Qwxzy", "language_level_1": "3"})
    assert response.status_code == 400
    assert "We do not know the language “Qwxzy”" in response.content.decode()
    assert list(WorkerLanguage.objects.filter(profile__user=user).values_list("code", flat=True)) == ["sw"]


def test_skills_campaigns_need_are_suggested():
    factories.campaign(launch=True, items=2, required_skills={"medical-images": 2})
    _, client = _client("en")
    page = client.get("/work/profile/").content.decode()
    assert '<datalist id="skill-suggestions"><option value="medical-images"></datalist>' in page
