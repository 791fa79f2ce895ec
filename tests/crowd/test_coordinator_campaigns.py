"""A campaign from the web: the form makes the same campaign the API would (same serializer, same services),
refuses bad input with the fields named and nothing stored, and the campaign page moves it through its life."""

import pytest
from allauth.account.models import EmailAddress
from django.http import QueryDict

from crowd.coordinator.forms import labels_from_post
from crowd.models import Campaign, Item, Membership, Organization
from crowd.services.campaigns import campaign_archive, campaign_close
from tests import factories
from tests.crowd.pages import logged_in, member
from tests.factories import assert_error
from workers.models import User
from workers.pseudonyms import pseudonym
from workers.services import user_email_verify

pytestmark = pytest.mark.django_db


def _form(**overrides) -> dict:
    body = {
        "name": "Clinic feedback",
        "instructions": "Is the message about a health problem?",
        "task_type": "single_choice",
        "reward": "0.30",
        "currency": "USD",
        "estimated_seconds": "30",
        "redundancy": "3",
        "max_redundancy": "5",
        "target_confidence": "0.9",
        "items_per_task": "2",
        "lease_seconds": "600",
        "gold_ratio": "0.1",
        "visibility": "public",
        "priority": "0",
        "order": "depth_first",
        "mode": "label",
        "blind_share": "0.1",
        "accept_threshold": "0.95",
        "accept_min_evidence": "50",
        "accept_min_score": "0.8",
        "accept_confirmations": "1",
        "accept_audit_share": "0.1",
        "accept_rule": "estimate",
        "min_language_level": "3",
        "min_quality": "0",
        "min_quality_answers": "10",
        "approval_hours": "72",
        "sensitive_daily_cap": "50",
        "auto_reject_min_gold_failed": "2",
        # Rows as the page sends them: the order numbers decide, empty rows are dropped.
        "label_position": ["2", "1", "3"],
        "label_value": ["symptom", "other", ""],
        "label_text": ["A symptom", "Something else", ""],
        "language": ["Kiswahili", "en", ""],
        "skill": ["medical", ""],
        "skill_level": ["2", "3"],
        "translation_language": ["sw"],
        "translation_instructions": ["Je, ujumbe unahusu tatizo la afya?"],
        "translation_label_symptom": ["Dalili"],
        "translation_label_other": ["Kitu kingine"],
    }
    body.update(overrides)
    return body


def test_an_owner_creates_a_campaign_from_the_web_with_every_part(org):
    organization, owner = org
    client = logged_in(owner)
    assert client.get("/manage/campaigns/new/").status_code == 200

    response = client.post("/manage/campaigns/new/", _form())

    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/manage/campaigns/{campaign.id}/"
    assert (campaign.organization_id, campaign.status, campaign.created_by_id) == (organization.id, "draft", owner.id)
    assert campaign.labels == [{"value": "other", "text": "Something else"}, {"value": "symptom", "text": "A symptom"}]
    assert sorted(campaign.languages) == ["en", "sw"]
    assert campaign.required_skills == {"medical": 2}
    assert (campaign.reward_minor, campaign.items_per_task, campaign.gold_ratio) == (30, 2, 0.1)
    assert campaign.accept_rule == "estimate"
    assert campaign.translations == {
        "sw": {
            "instructions": "Je, ujumbe unahusu tatizo la afya?",
            "labels": {"symptom": "Dalili", "other": "Kitu kingine"},
        }
    }
    page = client.get(response["Location"]).content.decode()
    assert "Clinic feedback" in page and 'id="move-launch"' in page


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"max_redundancy": "2"}, "max_redundancy"),
        ({"language": ["12345"]}, "is not a language we know"),
        ({"skill": ["medical"], "skill_level": ["9"]}, "from 1 to 5"),
        ({"reward": "-1"}, "id_reward"),
        ({"name": ""}, "id_name"),
        ({"translation_language": ["!!"]}, "translations"),
        ({"accept_rule": "median"}, "id_accept_rule"),
    ],
)
def test_bad_input_is_refused_with_the_field_named_and_nothing_stored(org, overrides, named):
    _, owner = org
    response = logged_in(owner).post("/manage/campaigns/new/", _form(**overrides))
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="form-errors"' in page and named in page
    assert not Campaign.objects.exists()


def test_a_skill_listed_twice_is_refused_not_stored_with_one_level(org):
    _, owner = org

    response = logged_in(owner).post(
        "/manage/campaigns/new/", _form(skill=["medical", " medical"], skill_level=["2", "4"])
    )

    assert response.status_code == 400
    assert "is listed twice" in response.content.decode()
    assert not Campaign.objects.exists()


@pytest.mark.parametrize("second", ["sw", " SW "])
def test_two_translation_blocks_for_one_language_are_refused_and_the_campaign_kept(org, second):
    """Both blocks reach the page as one language: it is refused, not stored with one block's texts dropped."""
    _, owner = org
    client = logged_in(owner)
    client.post("/manage/campaigns/new/", _form())
    campaign = Campaign.objects.get()
    stored = campaign.translations

    response = client.post(
        f"/manage/campaigns/{campaign.id}/edit/",
        _form(
            translation_language=["sw", second],
            translation_instructions=["Je, ujumbe unahusu tatizo la afya?", "Soma ujumbe."],
            translation_label_symptom=["Dalili", "Dalili ya ugonjwa"],
            translation_label_other=["Kitu kingine", "Kingine"],
        ),
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "Two translations are for one language: sw." in page
    # Both blocks come back as typed, so the coordinator keeps the text they choose between.
    assert "Je, ujumbe unahusu tatizo la afya?" in page and "Soma ujumbe." in page and "Dalili ya ugonjwa" in page
    assert Campaign.objects.get(pk=campaign.pk).translations == stored


def test_a_viewer_cannot_create_or_move_a_campaign(org):
    organization, _ = org
    viewer = member(organization, "viewer")
    campaign = factories.campaign(organization=organization, items=2)
    client = logged_in(viewer)
    assert client.get("/manage/campaigns/new/").status_code == 403
    assert client.post("/manage/campaigns/new/", _form()).status_code == 403
    page = client.get(f"/manage/campaigns/{campaign.id}/").content.decode()
    assert 'id="move-launch"' not in page
    assert client.post(f"/manage/campaigns/{campaign.id}/launch/").status_code == 403
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"


@pytest.mark.parametrize("named", ["viewer_here", "not_a_member", "nonsense"])
def test_a_campaign_is_made_in_the_organization_the_form_names_or_not_at_all(org, named):
    """A form loaded while the member could write in two organizations, sent after their role in one was lowered
    (or naming any organization they cannot write in): refused, not made in their other organization instead."""
    organization, owner = org
    lowered = factories.OrganizationFactory()
    Membership.objects.create(organization=lowered, user=owner, role="viewer")
    other = factories.OrganizationFactory()
    organization_id = {"viewer_here": lowered.id, "not_a_member": other.id, "nonsense": "x"}[named]

    response = logged_in(owner).post("/manage/campaigns/new/", _form(organization=organization_id))

    assert response.status_code == 403
    assert not Campaign.objects.exists()
    assert logged_in(owner).post("/manage/campaigns/new/", _form()).status_code == 302
    assert Campaign.objects.get().organization_id == organization.id


def test_an_archived_campaign_is_read_only_on_its_edit_page_and_through_the_api(org):
    organization, owner = org
    campaign = factories.campaign(organization=organization, launch=True, items=2)
    campaign_close(campaign_id=campaign.id)
    campaign_archive(campaign_id=campaign.id)
    items = sorted(Item.objects.filter(campaign=campaign).values_list("id", "status", "redundancy"))

    page = logged_in(owner).post(
        f"/manage/campaigns/{campaign.id}/edit/", _form(name="Renamed", redundancy="4", max_redundancy="6")
    )
    api = logged_in(owner).patch(
        f"/api/v1/campaigns/{campaign.id}/", {"name": "Renamed"}, content_type="application/json"
    )

    assert page.status_code == 400 and "it can no longer be edited" in page.content.decode()
    assert_error(api, 409)
    stored = Campaign.objects.get(pk=campaign.pk)
    assert (stored.name, stored.status, stored.redundancy) == (campaign.name, "archived", campaign.redundancy)
    assert sorted(Item.objects.filter(campaign=campaign).values_list("id", "status", "redundancy")) == items


def test_another_organizations_campaign_does_not_exist_here(org):
    _, owner = org
    elsewhere = factories.campaign(items=1)
    client = logged_in(owner)
    assert client.get(f"/manage/campaigns/{elsewhere.id}/").status_code == 404
    assert client.get(f"/manage/campaigns/{elsewhere.id}/edit/").status_code == 404
    assert client.post(f"/manage/campaigns/{elsewhere.id}/launch/").status_code == 404
    assert Campaign.objects.get(pk=elsewhere.pk).status == "draft"


def test_launch_says_what_is_missing_then_the_lifecycle_runs_from_the_page(org):
    organization, owner = org
    campaign = factories.campaign(organization=organization, items=4, labels=["only"])
    client = logged_in(owner)

    refused = client.post(f"/manage/campaigns/{campaign.id}/launch/", follow=True).content.decode()
    assert "at least two labels" in refused
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"

    Campaign.objects.filter(pk=campaign.pk).update(labels=[{"value": "a", "text": "A"}, {"value": "b", "text": "B"}])
    for move, status in (("launch", "active"), ("pause", "paused"), ("resume", "active"), ("close", "completed")):
        page = client.post(f"/manage/campaigns/{campaign.id}/{move}/", follow=True).content.decode()
        assert Campaign.objects.get(pk=campaign.pk).status == status, page
    client.post(f"/manage/campaigns/{campaign.id}/archive/")
    assert Campaign.objects.get(pk=campaign.pk).status == "archived"
    assert client.post(f"/manage/campaigns/{campaign.id}/explode/").status_code in (404, 405)


def test_after_launch_only_the_editable_fields_change(org):
    organization, owner = org
    campaign = factories.campaign(organization=organization, items=2, launch=True)
    client = logged_in(owner)
    page = client.get(f"/manage/campaigns/{campaign.id}/edit/").content.decode()
    assert 'name="task_type"' in page and "disabled" in page

    body = _form(name="Clinic feedback, round 2", task_type="free_text", items_per_task="7")
    response = client.post(f"/manage/campaigns/{campaign.id}/edit/", body)

    assert response.status_code == 302, response.content.decode().split("form-errors")[-1][:1500]
    campaign.refresh_from_db()
    assert campaign.name == "Clinic feedback, round 2"
    assert (campaign.task_type, campaign.items_per_task) == ("single_choice", 1)  # fixed after launch


def test_a_member_without_a_worker_profile_lands_on_the_coordinator_pages(org):
    _, owner = org
    response = logged_in(owner).get("/work/")
    assert (response.status_code, response["Location"]) == (302, "/manage/")


def test_a_signed_in_user_with_a_confirmed_address_starts_an_organization_and_owns_it():
    user = User.objects.create_user(username="amina", email="amina@ngo.example")
    user_email_verify(user=user)
    client = logged_in(user)
    assert client.get("/manage/").status_code == 403  # not a member yet: the page offers to start one
    assert client.get("/manage/organizations/new/").status_code == 200

    response = client.post("/manage/organizations/new/", {"name": "  Afya   Yetu "})

    assert response.status_code == 302
    organization = Organization.objects.get(name="Afya Yetu")
    assert Membership.objects.get(organization=organization).role == "owner"
    assert client.get("/manage/").status_code == 200
    taken = client.post("/manage/organizations/new/", {"name": "afya yetu"})
    assert taken.status_code == 400 and "exists already" in taken.content.decode()
    assert client.post("/manage/organizations/new/", {"name": "  "}).status_code == 400
    assert Organization.objects.count() == 1


def test_an_unconfirmed_address_cannot_own_an_organization():
    user = User.objects.create_user(username="someone", email="someone@example.org")
    EmailAddress.objects.create(user=user, email=user.email, verified=False, primary=True)
    response = logged_in(user).post("/manage/organizations/new/", {"name": "Mine"})
    assert response.status_code == 400 and "Confirm your email address" in response.content.decode()
    assert not Organization.objects.exists()


def test_the_form_has_every_field_the_api_has():
    from crowd.api.serializers import CampaignSerializer
    from crowd.coordinator.forms import NOT_SCALAR, CampaignForm

    writable = set(CampaignSerializer.Meta.fields) - set(CampaignSerializer.Meta.read_only_fields) - {"organization"}
    edited_apart = {"labels", "languages", "required_skills", "translations"}  # their own editors on the page
    assert writable - edited_apart == set(CampaignForm.base_fields)
    assert edited_apart < NOT_SCALAR


def test_uploading_from_the_campaign_page_previews_then_runs_in_the_background_and_shows_its_progress(
    org, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from crowd.models import ImportJob, Item

    organization, owner = org
    campaign = factories.campaign(organization=organization, labels=["pos", "neg"])
    client = logged_in(owner)
    assert 'id="upload"' in client.get(f"/manage/campaigns/{campaign.id}/").content.decode()

    csv = b"external_id,text\nm1,Homa kali\nm2,Kichwa kinauma\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/manage/campaigns/{campaign.id}/imports/", {"file": SimpleUploadedFile("messages.csv", csv)}
        )
    job = ImportJob.objects.get()
    assert response["Location"] == f"/manage/imports/{job.id}/"
    preview = client.get(response["Location"]).content.decode()
    assert job.status == ImportJob.Status.PREVIEW and not Item.objects.exists()  # nothing stored before the start
    assert "Homa kali" in preview and 'id="preview-ok"' in preview and 'id="start-import"' in preview

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            f"/manage/imports/{job.id}/start/",
            {"action": "start", "map_external_id": "external_id", "map_text": "text"},
        )
    assert started["Location"] == f"/manage/imports/{job.id}/"
    page = client.get(started["Location"]).content.decode()
    assert "Done: 2 items added, 0 already there." in page
    assert 'http-equiv="refresh"' not in page  # finished: nothing to wait for
    assert Item.objects.filter(campaign=campaign).count() == 2
    again = client.post(f"/manage/imports/{job.id}/start/", {"action": "start"})
    assert again.status_code == 302 and Item.objects.filter(campaign=campaign).count() == 2  # started once only

    broken = b"external_id,text\n,no id\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/manage/campaigns/{campaign.id}/imports/", {"file": SimpleUploadedFile("b.csv", broken)}
        )
    preview = client.get(response["Location"]).content.decode()
    assert 'id="preview-errors"' in preview and "Row 1" in preview  # the row error before anything is stored
    broken_job = ImportJob.objects.latest("id")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/manage/imports/{broken_job.id}/start/", {"action": "start"})
    page = client.get(f"/manage/imports/{broken_job.id}/").content.decode()
    assert "Nothing was imported." in page and "Row 1" in page
    assert Item.objects.filter(campaign=campaign).count() == 2

    waiting = ImportJob.objects.create(campaign=campaign, path="imports/x.csv", filename="x.csv", size=10)
    assert 'http-equiv="refresh"' in client.get(f"/manage/imports/{waiting.id}/").content.decode()

    refused = client.post(f"/manage/campaigns/{campaign.id}/imports/", {"file": SimpleUploadedFile("x.xlsx", b"PK")})
    assert refused.status_code == 400 and 'id="upload-error"' in refused.content.decode()


def test_the_preview_maps_columns_and_the_import_follows_the_mapping(org, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from crowd.models import ImportJob, Item

    organization, owner = org
    campaign = factories.campaign(organization=organization, labels=["pos", "neg"], languages=["sw"])
    client = logged_in(owner)
    sheet = b"sentence,lang,answer,notes\nHoma kali,sw,pos,checked by Amina\nKichwa kinauma,sw,,\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/manage/campaigns/{campaign.id}/imports/", {"file": SimpleUploadedFile("sheet.csv", sheet)}
        )
    job = ImportJob.objects.get()
    preview = client.get(response["Location"]).content.decode()
    # No column identifies rows: the preview says so and offers the mapping.
    assert 'id="preview-problem"' in preview and "external_id" in preview

    choices = {"map_external_id": "", "map_text": "sentence", "map_language": "lang", "map_gold": "answer"}
    looked = client.post(f"/manage/imports/{job.id}/start/", {**choices, "ignore": "notes", "action": "preview"})
    page = looked.content.decode()
    assert looked.status_code == 200 and 'id="preview-ok"' in page and "row-1" in page and "checked by" not in page

    wrong = client.post(f"/manage/imports/{job.id}/start/", {**choices, "map_gold": "nope", "action": "start"})
    assert wrong.status_code == 400 and "nope" in wrong.content.decode()
    assert ImportJob.objects.get().status == ImportJob.Status.PREVIEW

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/manage/imports/{job.id}/start/", {**choices, "ignore": "notes", "action": "start"})
    items = {item.external_id: item for item in Item.objects.filter(campaign=campaign)}
    assert items["row-1"].data == {"text": "Homa kali"} and items["row-1"].gold == "pos"
    assert items["row-1"].language == "sw" and items["row-2"].gold is None
    assert ImportJob.objects.get().options["mapping"]["text"] == "sentence"


def test_a_viewer_cannot_upload_and_nobody_sees_another_organizations_uploads(org):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from crowd.models import ImportJob

    organization, _ = org
    viewer = member(organization, "viewer")
    campaign = factories.campaign(organization=organization)
    upload = {"file": SimpleUploadedFile("m.csv", b"external_id,text\nm1,x\n")}
    assert logged_in(viewer).post(f"/manage/campaigns/{campaign.id}/imports/", upload).status_code == 403
    elsewhere = ImportJob.objects.create(campaign=factories.campaign(), path="imports/y.csv", filename="y.csv")
    assert logged_in(viewer).get(f"/manage/imports/{elsewhere.id}/").status_code == 404
    assert ImportJob.objects.count() == 1


def test_the_campaign_page_shows_answers_per_hour_confidence_agreement_and_spend(org):
    from crowd.coordinator.selectors import campaign_watch
    from crowd.models import Assignment
    from crowd.services.answers import answer_submit
    from crowd.services.routing import assignment_claim_next

    organization, owner = org
    campaign = factories.campaign(organization=organization, launch=True, items=2, redundancy=2, max_redundancy=2)
    # Depth first: two workers per item in turn, one says pos and the other neg, so annotators always disagree.
    for label in ("pos", "neg", "pos", "neg"):
        worker = factories.worker()[0]
        lease = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
        answers = [{"item": e.item_id, "label": label} for e in lease.entries.all()]
        answer_submit(worker=worker, assignment_id=lease.id, raw_answers=answers)
    watch = campaign_watch(campaign=campaign)
    assert watch["per_hour"][-1] == Assignment.objects.filter(campaign=campaign, status="submitted").count() == 4
    assert watch["alpha"] == pytest.approx(-0.5)  # two items, each with one pos and one neg
    page = logged_in(owner).get(f"/manage/campaigns/{campaign.id}/").content.decode()
    assert 'id="watch"' in page and "<svg" in page and "<rect" in page
    assert "Krippendorff" in page and "Spent" in page


def test_a_campaign_without_a_quality_floor_or_instructions_can_be_saved(org):
    _, owner = org
    response = logged_in(owner).post("/manage/campaigns/new/", _form(min_quality="", instructions=""))
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert (campaign.min_quality, campaign.instructions) == (None, "")


def test_the_campaign_page_stays_small(org):
    """Budget: the campaign page, charts included, stays under 100 KB (its charts are inline SVG, nothing else is
    fetched). Byte sizes do not vary between runs, so a test may guard them."""
    import gzip

    organization, owner = org
    campaign = factories.campaign(organization=organization, launch=True, items=50, instructions="Read it. " * 200)
    response = logged_in(owner).get(f"/manage/campaigns/{campaign.id}/")
    body = response.content
    assert len(body) < 100 * 1024, len(body)
    assert len(gzip.compress(body)) < 20 * 1024
    assert "<script src" not in body.decode() and 'rel="stylesheet"' not in body.decode()


def test_the_campaign_page_lists_annotators_by_pseudonym_with_their_confusion_matrix(org):
    from crowd.models import Annotator

    organization, owner = org
    campaign = factories.campaign(organization=organization, launch=True, items=2)
    worker, _ = factories.worker(username="private-name")
    Annotator.objects.create(
        campaign=campaign, kind="worker", worker=worker, answers=12, accuracy=0.83, confusion=[[0.9, 0.1], [0.2, 0.8]]
    )
    Annotator.objects.create(campaign=campaign, kind="model", model_name="triage-v2", answers=40, accuracy=0.7)
    page = logged_in(owner).get(f"/manage/campaigns/{campaign.id}/").content.decode()
    table = page.split('id="annotators"')[1]
    assert (
        f"worker {pseudonym(organization.id, worker.id)}" in table and "private-name" not in table
    )  # pseudonymous, never the username
    assert "model triage-v2" in table and "0.83" in table
    assert ">0.9<" in table and ">0.8<" in table  # the matrix, true label by answer


def test_results_are_browsed_with_filters_and_every_export_format_is_offered(org):
    from crowd.models import Item

    organization, owner = org
    campaign = factories.campaign(organization=organization, launch=True, items=3)
    items = list(Item.objects.filter(campaign=campaign).order_by("id"))
    for item, (label, confidence, status) in zip(
        items, [("pos", 0.95, "complete"), ("neg", 0.55, "open"), ("pos", 0.7, "open")], strict=True
    ):
        Item.objects.filter(pk=item.pk).update(result_label=label, confidence=confidence, status=status)
    client = logged_in(owner)
    url = f"/manage/campaigns/{campaign.id}/results/"

    every = client.get(url).content.decode()
    assert all(f'id="item-{item.id}"' in every for item in items)
    assert all(f"format={name}" in every for name in ("csv", "jsonl", "json", "labelstudio"))
    unsure = client.get(url, {"below": "0.8"}).content.decode()
    assert unsure.index(f'id="item-{items[1].id}"') < unsure.index(f'id="item-{items[2].id}"')  # least sure first
    assert f'id="item-{items[0].id}"' not in unsure
    done = client.get(url, {"status": "complete"}).content.decode()
    assert f'id="item-{items[0].id}"' in done and f'id="item-{items[1].id}"' not in done
    assert client.get(url, {"below": "lots", "status": "?"}).status_code == 200  # a bad filter shows everything


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "NaN"])
def test_a_label_order_number_that_is_not_a_number_keeps_the_row_where_the_page_had_it(bad):
    # The order numbers decide; one that is not a finite number counts as the row's place on the page, so the
    # others are still sorted by theirs ("nan" compares false to everything and used to scramble the order).
    post = QueryDict(mutable=True)
    for value, position in (("d", "4"), ("b", bad), ("a", "1"), ("c", "3")):
        post.appendlist("label_value", value)
        post.appendlist("label_text", value.upper())
        post.appendlist("label_position", position)

    assert [label["value"] for label in labels_from_post(post)] == ["b", "a", "c", "d"]
