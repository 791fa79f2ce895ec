"""A refusal from a service comes out in the language active when it is raised: the page's language on the pages,
English by default (the API without Accept-Language, commands, tests); a background import's, in the language of
whoever started it."""

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import translation
from django.utils.html import escape

from crowd.exceptions import ValidationFailed
from crowd.labels import LabelChecker, RowError
from crowd.models import Campaign, ImportJob
from crowd.services.blocks import worker_block
from crowd.services.campaigns import campaign_launch
from crowd.services.funds import InsufficientFunds
from crowd.services.import_jobs import import_job_run
from crowd.services.organizations import organization_ensure
from tests import factories
from tests.crowd.pages import logged_in, member
from tests.crowd.test_funds import deposit, unfunded_campaign
from tests.i18n.catalogs import catalog, shipped_languages
from workers.models import User

pytestmark = pytest.mark.django_db

FUNDS_MESSAGE = (
    "%(action)s needs up to %(need)s %(currency)s; the organization has %(have)s %(currency)s available "
    "(what its campaigns can still cost is held in reserve). Record a deposit first."
)
ACTION_CONTEXT = "funds: the change, starting the sentence"


@pytest.fixture(autouse=True)
def _no_language_active():
    # A page request earlier in this thread leaves its language active; a command or task starts with none.
    translation.deactivate()


def shipped(language: str, msgid: str, context: str | None = None) -> str:
    """The translation the catalog ships, read from the .po file (not through gettext, which is under test)."""
    message = catalog(language).get(msgid, context=context)
    assert message is not None and message.string, f"locale/{language} lacks {msgid!r}"
    return message.string


def _block_refusal() -> ValidationFailed:
    with pytest.raises(ValidationFailed) as refused:
        worker_block(organization_id=1, worker_id=1, reason=" ", created_by_id=None)
    return refused.value


@pytest.mark.parametrize("language", shipped_languages())
def test_a_refusal_is_in_the_language_active_when_it_is_raised(language):
    with translation.override(language):
        refused = _block_refusal()
    assert refused.message == shipped(language, "A block needs a reason.") != "A block needs a reason."
    assert refused.fields == {"reason": shipped(language, "This field is required.")}
    assert refused.code == "validation_error"  # codes and field keys stay as they are


def test_a_refusal_is_english_by_default():
    refused = _block_refusal()
    assert (refused.message, refused.fields) == ("A block needs a reason.", {"reason": "This field is required."})


def test_values_are_filled_into_the_translated_sentence():
    campaign = unfunded_campaign()  # launching reserves 1.20 USD
    deposit(campaign.organization_id, "1.19", "a")
    with translation.override("sw"), pytest.raises(InsufficientFunds) as refused:
        campaign_launch(campaign_id=campaign.id)
    values = {
        "action": shipped("sw", "Launching", ACTION_CONTEXT),
        "need": "1.20",
        "have": "1.19",
        "currency": "USD",
    }
    assert refused.value.message == shipped("sw", FUNDS_MESSAGE) % values
    assert refused.value.fields == {"funds": shipped("sw", "Needs up to %(need)s, available %(have)s.") % values}
    assert "Launching" not in refused.value.message


def test_a_row_error_of_an_upload_is_translated_too():
    checker = LabelChecker(Campaign(task_type=Campaign.TaskType.FREE_TEXT))
    with translation.override("hi"), pytest.raises(RowError) as refused:
        checker.check("   ", "gold")
    assert (refused.value.field, refused.value.message) == ("gold", shipped("hi", "Must be non-empty text."))


def test_the_api_answers_in_english_unless_asked_otherwise():
    campaign = unfunded_campaign()
    client = factories.membership_client(organization=campaign.organization, role="owner")
    url = f"/api/v1/campaigns/{campaign.id}/launch/"
    values = {"need": "1.20", "have": "0.00", "currency": "USD"}

    english = factories.assert_error(client.post(url), 400, "insufficient_funds")
    french = factories.assert_error(client.post(url, HTTP_ACCEPT_LANGUAGE="fr"), 400, "insufficient_funds")

    assert english["message"] == FUNDS_MESSAGE % {**values, "action": "Launching"}
    assert french["message"] == shipped("fr", FUNDS_MESSAGE) % {
        **values,
        "action": shipped("fr", "Launching", ACTION_CONTEXT),
    }
    assert set(french["fields"]) == {"funds"}  # field keys stay as they are


def test_a_coordinator_page_in_french_shows_a_refused_launch_in_french():
    organization, _owner = organization_ensure(name="Health NGO", owner_email="owner@ngo.example")
    coordinator = member(organization, "coordinator")
    campaign = unfunded_campaign(organization=organization)
    client: Client = logged_in(coordinator)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"

    page = client.post(f"/manage/campaigns/{campaign.id}/launch/", follow=True)

    values = {"action": shipped("fr", "Launching", ACTION_CONTEXT), "need": "1.20", "have": "0.00", "currency": "USD"}
    french = shipped("fr", FUNDS_MESSAGE) % values
    text = page.content.decode()
    assert page.headers["Content-Language"] == "fr"
    assert escape(french) in text
    assert "needs up to" not in text and "Record a deposit first" not in text
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"


BAD_CSV = b"external_id,text\n,no id\n"  # row 1 has no external_id
ROWS_MESSAGE = "Row %(row)s, field '%(field)s': %(message)s. Nothing was imported."


def _failed_job(campaign: Campaign, created_by: User | None) -> ImportJob:
    """A background import of a file with one bad row, run as the Celery worker runs it, then read back."""
    path = default_storage.save(f"imports/{campaign.id}/bad.csv", ContentFile(BAD_CSV))
    job = ImportJob.objects.create(campaign=campaign, created_by=created_by, path=path, filename="bad.csv")
    assert import_job_run(job_id=job.id) == ImportJob.Status.FAILED
    job.refresh_from_db()
    return job


def test_a_background_import_fails_in_the_language_of_the_coordinator_who_started_it():
    organization = factories.OrganizationFactory()
    coordinator = member(organization, "coordinator")
    User.objects.filter(pk=coordinator.pk).update(preferred_language="fr")

    job = _failed_job(factories.campaign(organization=organization), coordinator)  # no language active, as in Celery

    required = shipped("fr", "This field is required.")
    assert job.errors == [{"row": 1, "field": "external_id", "message": required}]
    assert job.message == shipped("fr", ROWS_MESSAGE) % {
        "row": 1,
        "field": "external_id",
        "message": required.rstrip("."),
    }
    assert "Nothing was imported" not in job.message
    assert job.error_code == "invalid_rows"  # codes and field keys stay as they are
    assert translation.get_language() == settings.LANGUAGE_CODE  # the job's language did not stay active


def test_a_background_import_without_a_known_language_fails_in_the_site_language():
    organization = factories.OrganizationFactory()
    coordinator = member(organization, "coordinator")
    User.objects.filter(pk=coordinator.pk).update(preferred_language="xx")  # not an interface language
    campaign = factories.campaign(organization=organization)

    with translation.override("sw"):  # whatever the worker's thread has active does not decide it
        unknown, nobody = _failed_job(campaign, coordinator), _failed_job(campaign, None)

    english = ROWS_MESSAGE % {"row": 1, "field": "external_id", "message": "This field is required"}
    assert unknown.message == nobody.message == english
