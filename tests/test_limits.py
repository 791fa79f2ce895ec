"""Bad input is a 4xx in the error shape (or a page with a message), and nothing already stored is lost or
half-written: money out of range, NUL characters, deep nesting, oversized bodies and texts, broken CSV quotes,
unsafe image URLs, spreadsheet formulas in exports, and a Content-Security-Policy on every page."""

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from config.limits import FREE_TEXT_ANSWER_MAX, INSTRUCTIONS_MAX, JSON_MAX_DEPTH
from crowd.models import Answer, Assignment, Campaign, Item
from crowd.services.answers import answer_submit
from crowd.services.approvals import assignment_approve
from crowd.services.campaigns import campaign_launch
from crowd.services.routing import assignment_claim_next
from payments.models import LedgerEntry
from payments.money import MAX_MINOR, MoneyError, to_minor
from tests import factories
from tests.factories import assert_error
from workers.models import User, WorkerProfile
from workers.pseudonyms import pseudonym

pytestmark = pytest.mark.django_db

BAD_AMOUNTS = ["1e17", "1e1000000", "NaN", "-0", "-0.00", "Infinity", "1" * 41, "10000000000.01", "1e-999999999"]


def _items_url(campaign: Campaign) -> str:
    return f"/api/v1/campaigns/{campaign.id}/items/"


def _upload(client, campaign: Campaign, name: str, content: str):
    return client.post(_items_url(campaign), {"file": SimpleUploadedFile(name, content.encode())}, format="multipart")


@pytest.fixture
def campaign(org_key) -> Campaign:
    return factories.campaign(organization=org_key[0])


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_to_minor_refuses_amounts_out_of_range_or_signed(amount):
    with pytest.raises(MoneyError):
        to_minor(amount, "USD")


def test_to_minor_accepts_the_largest_amount():
    assert to_minor("10000000000.00", "USD") == MAX_MINOR
    assert to_minor("1000000000000", "JPY") == MAX_MINOR


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_deposit_with_a_bad_amount_is_a_400_and_stores_nothing(org_api, amount):
    response = org_api.post(
        "/api/v1/funds/deposits/", {"amount": amount, "currency": "USD", "reference": "r1"}, format="json"
    )
    error = assert_error(response, 400)
    assert "amount" in error["fields"]
    assert not LedgerEntry.objects.filter(reference="r1").exists()


@pytest.mark.parametrize("amount", ["1e17", "NaN", "-0"])
def test_campaign_reward_out_of_range_is_a_400_and_keeps_the_old_reward(org_api, campaign, amount):
    response = org_api.patch(f"/api/v1/campaigns/{campaign.id}/", {"reward": amount}, format="json")
    assert "reward" in assert_error(response, 400)["fields"]
    campaign.refresh_from_db()
    assert campaign.reward_minor == 10


def test_json_number_too_large_for_json_is_a_400(org_api):
    body = b'{"amount": 1e1000000, "currency": "USD", "reference": "r"}'  # a float overflow: Infinity
    response = org_api.post("/api/v1/funds/deposits/", body, content_type="application/json")
    assert_error(response, 400)
    response = org_api.post("/api/v1/funds/deposits/", b'{"amount": NaN}', content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_nul_in_a_json_field_is_a_400_naming_the_field(org_api, campaign):
    rows = [{"external_id": "a", "data": {"text": "fine"}}, {"external_id": "b", "data": {"text": "bad\x00text"}}]
    error = assert_error(org_api.post(_items_url(campaign), rows, format="json"), 400)
    assert "1.data.text" in error["fields"]  # the second row's data.text
    assert "NUL" in error["message"]
    assert not Item.objects.filter(campaign=campaign).exists()


def test_nul_in_a_campaign_name_is_a_400(org_api, campaign):
    response = org_api.patch(f"/api/v1/campaigns/{campaign.id}/", {"name": "a\x00b"}, format="json")
    assert_error(response, 400)
    campaign.refresh_from_db()
    assert "\x00" not in campaign.name


def test_nul_in_a_csv_cell_names_the_row_and_field(org_api, campaign):
    response = _upload(org_api, campaign, "items.csv", "external_id,text\nok,fine\nbad,nul\x00here\n")
    error = assert_error(response, 400, "invalid_rows")
    assert [(row["row"], row["field"]) for row in error["fields"]["rows"]] == [(2, "data.text")]
    assert not Item.objects.filter(campaign=campaign).exists()


def test_nul_in_a_jsonl_line_names_the_row(org_api, campaign):
    content = '{"external_id": "a", "data": {"text": "x"}}\n{"external_id": "b\\u0000", "data": {"text": "y"}}\n'
    error = assert_error(_upload(org_api, campaign, "items.jsonl", content), 400, "invalid_rows")
    assert error["fields"]["rows"][0]["row"] == 2


def test_nul_in_the_query_string_is_a_400(org_api, campaign):
    assert_error(org_api.get(f"/api/v1/campaigns/{campaign.id}/export/?format=csv%00"), 400)


def test_nul_in_a_page_form_is_a_400_page_and_stores_nothing(client):
    user, _ = factories.worker(languages=(("en", 5),))
    client.force_login(user)
    campaign = factories.campaign(launch=True, items=1, task_type="free_text", labels=[])
    claimed = client.post("/work/next/", {"campaign": campaign.id})
    assignment = Assignment.objects.get(worker=user)
    item_id = assignment.entries.get().item_id
    response = client.post(claimed["Crowdloop-Location"], {f"item-{item_id}": "hello\x00", "then": "stop"})
    assert response.status_code == 400
    assert "cannot be saved" in response.content.decode()
    assert not Answer.objects.exists()


def test_item_data_nested_too_deeply_is_a_400_naming_the_field(org_api, campaign):
    data: dict = {"text": "x"}
    for _ in range(15):
        data = {"inner": data}
    error = assert_error(org_api.post(_items_url(campaign), [{"external_id": "a", "data": data}], format="json"), 400)
    assert error["fields"]["rows"][0]["field"].startswith("data.inner")
    assert not Item.objects.exists()


def test_json_body_nested_beyond_the_parser_is_a_400(org_api, campaign):
    deep = b"[" * 200_000 + b"]" * 200_000
    error = assert_error(org_api.post(_items_url(campaign), deep, content_type="application/json"), 400)
    assert "body" in error["fields"] or "Nested" in error["message"]
    nested = "[" * (JSON_MAX_DEPTH + 1) + "]" * (JSON_MAX_DEPTH + 1)
    assert_error(org_api.post(_items_url(campaign), nested, content_type="application/json"), 400)


def test_body_over_the_limit_is_a_413_in_the_error_shape(org_api, campaign, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    rows = [{"external_id": str(i), "data": {"text": "x" * 100}} for i in range(20)]
    response = org_api.post(_items_url(campaign), rows, format="json")
    assert_error(response, 413, "too_large")
    assert not Item.objects.exists()


def test_body_over_the_limit_on_a_page_is_a_413_with_a_message(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = client.post("/accounts/login/", {"login": "x" * 2000, "password": "y"})
    assert response.status_code == 413
    assert "too much to send" in response.content.decode()


def test_instructions_over_the_limit_are_refused(org_api, campaign):
    response = org_api.patch(
        f"/api/v1/campaigns/{campaign.id}/", {"instructions": "x" * (INSTRUCTIONS_MAX + 1)}, format="json"
    )
    assert "instructions" in assert_error(response, 400)["fields"]


def test_free_text_answer_over_the_limit_is_refused_and_nothing_stored(make_worker):
    campaign = factories.campaign(launch=True, items=1, task_type="free_text", labels=[])
    _, worker_api = make_worker()
    lease = worker_api.post("/api/v1/assignments/next/", {}, format="json").json()
    answers = {"answers": [{"item": lease["items"][0]["id"], "label": "x" * (FREE_TEXT_ANSWER_MAX + 1)}]}
    error = assert_error(worker_api.post(f"/api/v1/assignments/{lease['id']}/submit/", answers, format="json"), 400)
    assert "answers.0.label" in error["fields"]
    assert not Answer.objects.exists()
    assert Assignment.objects.get(pk=lease["id"]).status == Assignment.Status.ACTIVE
    assert campaign.id == lease["campaign"]


@pytest.mark.parametrize("text", ["\u200b", " \u200d\ufeff ", "\u2028\t", "\u200e\u200f"])
def test_free_text_answer_of_only_invisible_characters_is_refused(make_worker, text):
    factories.campaign(launch=True, items=1, task_type="free_text", labels=[])
    _, worker_api = make_worker()
    lease = worker_api.post("/api/v1/assignments/next/", {}, format="json").json()
    answers = {"answers": [{"item": lease["items"][0]["id"], "label": text}]}
    error = assert_error(worker_api.post(f"/api/v1/assignments/{lease['id']}/submit/", answers, format="json"), 400)
    assert error["fields"]["answers"] == {str(lease["items"][0]["id"]): "Must be non-empty text."}
    assert not Answer.objects.exists()


def test_a_quote_inside_an_unquoted_csv_cell_is_text(org_api, campaign):
    assert _upload(org_api, campaign, "items.csv", 'external_id,text\na,5" screen\n').status_code in (200, 201)
    assert Item.objects.get(campaign=campaign, external_id="a").data == {"text": '5" screen'}


@pytest.mark.parametrize(
    ("content", "row"),
    [
        ('external_id,text\na,fine\nb,"unterminated\nc,more\nd,rows\n', 2),  # the quote runs to the end
        ('external_id,text\na,fine\nb,"hel"lo\nc,more\n', 2),  # a stray character after a closing quote
        ('external_id,text\na,"swallows\nb,one\nc,two"\nd,last\n', 1),  # a later quote closed it: rows merged
    ],
)
def test_csv_with_a_broken_quote_names_the_row_and_imports_nothing(org_api, campaign, content, row):
    error = assert_error(_upload(org_api, campaign, "items.csv", content), 400, "invalid_rows")
    assert error["fields"]["rows"][0]["row"] == row
    assert f"Row {row}" in error["message"] and "Nothing was imported" in error["message"]
    assert not Item.objects.exists()


def test_csv_with_a_quoted_multiline_text_is_still_fine(org_api, campaign):
    content = 'external_id,text\na,"Dear nurse,\nthank you, really"\nb,short\n'
    response = _upload(org_api, campaign, "items.csv", content)
    assert response.status_code == 201, response.content
    assert Item.objects.get(external_id="a").data["text"] == "Dear nurse,\nthank you, really"


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "//evil.example/x.png", "ftp://x/y"]
)
def test_unsafe_image_url_is_refused_on_import_naming_row_and_field(org_api, campaign, url):
    rows = [{"external_id": "a", "data": {"image": "https://cdn.example/a.png"}}, {"external_id": "b", "data": {}}]
    rows[1]["data"]["image_url"] = url
    error = assert_error(org_api.post(_items_url(campaign), rows, format="json"), 400, "invalid_rows")
    assert [(r["row"], r["field"]) for r in error["fields"]["rows"]] == [(2, "data.image_url")]
    assert not Item.objects.exists()


def test_image_url_is_checked_again_when_the_task_is_shown(client):
    user, _ = factories.worker(languages=(("en", 5),))
    client.force_login(user)
    campaign = factories.campaign(launch=True, items=2, items_per_task=2)
    first, second = Item.objects.filter(campaign=campaign).order_by("id")
    # Rows stored before the import check existed: the page must still refuse to render the unsafe one.
    Item.objects.filter(pk=first.pk).update(data={"image": "javascript:alert(1)"})
    Item.objects.filter(pk=second.pk).update(data={"image": "/media/items/cat.png"})
    claimed = client.post("/work/next/", {"campaign": campaign.id})
    page = client.get(claimed["Crowdloop-Location"]).content.decode()
    assert "javascript:" not in page
    assert '<img src="/media/items/cat.png"' in page
    assert "This image cannot be shown." in page


def _submit_free_text(campaign: Campaign, text: str) -> User:
    worker, _ = factories.worker()
    lease = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
    answers = [{"item": item_id, "label": text} for item_id in lease.entries.values_list("item_id", flat=True)]
    answer_submit(worker=worker, assignment_id=lease.id, raw_answers=answers)
    assignment_approve(assignment_id=lease.id, decided_by_id=None, organization_ids=[campaign.organization_id])
    return worker


def test_export_csv_neutralizes_formulas_from_people(org_api, org_key):
    campaign = factories.campaign(
        organization=org_key[0], task_type="free_text", labels=[], redundancy=1, max_redundancy=1
    )
    org_api.post(_items_url(campaign), [{"external_id": "@SUM(1+1)", "data": {"text": "t"}}], format="json")
    campaign_launch(campaign_id=campaign.id)
    _submit_free_text(campaign, "=cmd|' /C calc'!A0")
    Item.objects.filter(campaign=campaign).update(result_label="=cmd|' /C calc'!A0", confidence=0.9)
    response = org_api.get(f"/api/v1/campaigns/{campaign.id}/export/?format=csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0]["label"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["external_id"] == "'@SUM(1+1)"
    assert rows[0]["confidence"] == "0.9"  # the service's own numbers are written as numbers


def test_payout_csv_neutralizes_accounts_but_keeps_amounts_numbers(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0], launch=True, items=1, redundancy=1)
    worker = _submit_free_text_choice(campaign)
    WorkerProfile.objects.filter(user=worker).update(payout_method="bank", payout_details={"-cmd": "1"})
    batch = org_api.post(
        "/api/v1/payouts/", {"currency": "USD", "threshold": "0.01", "reference": "b1"}, format="json"
    ).json()
    export = org_api.get(f"/api/v1/payouts/{batch['id']}/export/")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    # The worker is named by the organization's pseudonym (never the username, which here looks like a formula).
    assert [(r["worker"], r["payout_details"], r["amount"]) for r in rows] == [
        (pseudonym(org_key[0].id, worker.id), "'-cmd=1", "0.10")
    ]


def _submit_free_text_choice(campaign: Campaign) -> User:
    worker, _ = factories.worker(username="-cmd")
    lease = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
    answers = [{"item": item_id, "label": "pos"} for item_id in lease.entries.values_list("item_id", flat=True)]
    answer_submit(worker=worker, assignment_id=lease.id, raw_answers=answers)
    assignment_approve(assignment_id=lease.id, decided_by_id=None, organization_ids=[campaign.organization_id])
    return worker


def _policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


def test_every_page_has_a_content_security_policy(client):
    policy = _policy(client.get("/"))
    assert policy["default-src"] == "default-src 'self'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert "'unsafe-inline'" not in policy["script-src"]
    assert set(policy["img-src"].split()[1:]) == {"'self'", "https:", "http:", "data:"}


def test_the_task_page_script_carries_the_policy_nonce(client):
    user, _ = factories.worker(languages=(("en", 5),))
    client.force_login(user)
    campaign = factories.campaign(launch=True, items=1)
    response = client.get(client.post("/work/next/", {"campaign": campaign.id})["Crowdloop-Location"])
    nonce = re.search(r"'nonce-([^']+)'", _policy(response)["script-src"]).group(1)
    scripts = re.findall(r"<script([^>]*)>", response.content.decode())
    # Every script that runs carries the nonce; the page's data (json_script) is not run and needs none.
    running = [attributes for attributes in scripts if 'type="application/json"' not in attributes]
    assert running and all(f'nonce="{nonce}"' in attributes for attributes in running)


def test_the_api_docs_page_script_carries_the_policy_nonce(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    nonce = re.search(r"'nonce-([^']+)'", _policy(response)["script-src"]).group(1)
    inline = re.findall(r"<script([^>]*)>\s*\S", response.content.decode())
    assert inline and all(f'nonce="{nonce}"' in attributes for attributes in inline if "src=" not in attributes)


def test_the_admin_login_page_works_under_the_policy(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert "Content-Security-Policy" in response
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", response.content.decode())  # no inline script at all
