"""The ML backend contract, against a real HTTP server on 127.0.0.1 in a thread speaking Label Studio's protocol."""

import threading
from collections.abc import Iterator

import pytest

from crowd import tasks
from crowd.model_loop.backends import backend_train_maybe, backends_check
from crowd.models import Item, LabelModel, MLBackend
from crowd.services.imports import items_import
from tests import factories
from tests.model_loop.backend_server import FakeBackend, choice, fake_backend_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(settings) -> Iterator[FakeBackend]:
    settings.OUTBOUND_ALLOW_PRIVATE = True  # what CROWDLOOP_WEBHOOKS_ALLOW_PRIVATE=1 sets
    with fake_backend_server() as backend:
        yield backend


def _campaign(org_key, n: int = 4):
    organization = org_key[0]
    campaign = factories.campaign(organization=organization)
    items_import(
        campaign_id=campaign.id,
        rows=[
            {"external_id": f"i{i}", "data": {"text": ("good " if i % 2 else "bad ") + str(i)}, "language": "en"}
            for i in range(n)
        ],
    )
    return campaign


def _register(org_api, campaign, url: str, capture, **extra):
    with capture(execute=True):
        return org_api.post(f"/api/v1/campaigns/{campaign.id}/backends/", {"url": url, **extra}, format="json")


def test_a_backend_is_registered_after_its_health_check_and_labels_the_items(
    fake, org_key, org_api, django_capture_on_commit_callbacks
):
    campaign = _campaign(org_key)

    response = _register(org_api, campaign, fake.url, django_capture_on_commit_callbacks, name="fake", batch_size=3)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["model_version"], body["status"], body["batch_size"]) == ("fake", "v3", "ok", 3)
    backend = MLBackend.objects.get()
    assert (backend.status, backend.items_predicted, backend.items_rejected) == ("ok", 4, 0)
    assert backend.last_success_at is not None
    for item in Item.objects.filter(campaign=campaign):
        expected = "pos" if "good" in item.data["text"] else "neg"
        assert (item.prelabel, item.prelabel_score, item.prelabel_model) == (expected, 0.87, "fake@v3")
    model = LabelModel.objects.get(organization=org_key[0])
    assert (model.name, model.version, model.kind, model.key) == ("fake", "v3", "backend", "fake@v3")
    # The protocol: batches of batch_size, Label Studio tasks, the campaign's labeling config, the project id.
    sent = fake.paths("/predict")
    assert [len(body["tasks"]) for body in sent] == [3, 1]
    assert set(sent[0]["tasks"][0]) == {"id", "data"} and sent[0]["project"] == str(campaign.id)
    assert '<Choice value="pos"' in sent[0]["label_config"]
    # The state is shown to the organization.
    listed = org_api.get(f"/api/v1/campaigns/{campaign.id}/backends/").json()["results"]
    assert listed[0]["items_predicted"] == 4 and listed[0]["status"] == "ok"


def test_a_backend_that_fails_its_health_check_is_a_400_and_nothing_is_stored(
    fake, org_key, org_api, django_capture_on_commit_callbacks
):
    campaign = _campaign(org_key)
    fake.health = 503
    error = factories.assert_error(
        _register(org_api, campaign, fake.url, django_capture_on_commit_callbacks), 400, "backend_unhealthy"
    )
    assert "503" in error["message"] and "url" in error["fields"]

    fake.health = {"status": "LOADING"}
    factories.assert_error(
        _register(org_api, campaign, fake.url, django_capture_on_commit_callbacks), 400, "backend_unhealthy"
    )
    assert not MLBackend.objects.exists()
    assert not fake.paths("/predict") and not Item.objects.filter(prelabel__isnull=False).exists()


def test_a_private_address_is_refused_unless_the_deployment_allows_it(
    fake, settings, org_key, org_api, django_capture_on_commit_callbacks
):
    campaign = _campaign(org_key)
    settings.OUTBOUND_ALLOW_PRIVATE = False

    error = factories.assert_error(
        _register(org_api, campaign, fake.url, django_capture_on_commit_callbacks), 400, "backend_unhealthy"
    )

    assert "private" in error["message"]
    assert fake.requests == [] and not MLBackend.objects.exists()


def test_bad_input_is_a_400_in_the_error_shape(fake, org_key, org_api, django_capture_on_commit_callbacks):
    campaign = _campaign(org_key)
    for body in ({"url": "ftp://x/"}, {"url": fake.url, "batch_size": 0}, {"url": fake.url, "name": "a@b"}, {}):
        with django_capture_on_commit_callbacks(execute=True):
            response = org_api.post(f"/api/v1/campaigns/{campaign.id}/backends/", body, format="json")
        factories.assert_error(response, 400)
    assert not MLBackend.objects.exists()


def test_labels_the_campaign_does_not_have_are_counted_and_not_stored(
    fake, org_key, org_api, django_capture_on_commit_callbacks
):
    campaign = _campaign(org_key)
    # A bare list, as some backends answer; one label unknown, one result missing its choice, one missing.
    fake.predict = lambda items: (200, [choice("maybe"), {"result": []}, choice("pos")])

    assert _register(org_api, campaign, fake.url, django_capture_on_commit_callbacks, name="f").status_code == 201

    backend = MLBackend.objects.get()
    assert (backend.status, backend.items_predicted, backend.items_rejected) == ("ok", 1, 3)
    labelled = Item.objects.filter(campaign=campaign, prelabel__isnull=False)
    assert list(labelled.values_list("external_id", "prelabel")) == [("i2", "pos")]
    # The same model version is not asked again about the items it got wrong (nor are they counted twice).
    with django_capture_on_commit_callbacks(execute=True):
        assert backends_check() == {"ok": 1}
    assert len(fake.paths("/predict")) == 1 and MLBackend.objects.get().items_rejected == 3


@pytest.mark.parametrize(
    "answer, words",
    [((200, b"<html>not json</html>"), "JSON"), ((500, {"error": "boom"}), "500"), ((200, {"nope": 1}), "results")],
)
def test_a_bad_answer_marks_the_backend_failing_with_its_error_and_stores_nothing(
    fake, org_key, org_api, django_capture_on_commit_callbacks, answer, words
):
    campaign = _campaign(org_key)
    fake.predict = lambda items: answer

    assert _register(org_api, campaign, fake.url, django_capture_on_commit_callbacks, name="f").status_code == 201

    backend = MLBackend.objects.get()
    assert backend.status == "failing" and words in backend.last_error and backend.last_error_at is not None
    assert backend.items_predicted == 0
    assert not Item.objects.filter(campaign=campaign, prelabel__isnull=False).exists()
    shown = org_api.get(f"/api/v1/campaigns/{campaign.id}/backends/{backend.id}/").json()
    assert shown["status"] == "failing" and shown["last_error"] == backend.last_error


def test_a_backend_that_does_not_answer_in_time_is_failing_and_recovers_on_the_next_check(
    fake, org_key, org_api, django_capture_on_commit_callbacks
):
    campaign = _campaign(org_key, n=2)
    fake.stall = threading.Event()
    assert _register(org_api, campaign, fake.url, django_capture_on_commit_callbacks, name="f", active=False)
    MLBackend.objects.update(timeout_seconds=0.3, active=True)  # below the API's 1 s minimum, to keep the test short
    backend = MLBackend.objects.get()

    outcome = tasks.backend_predict.delay(backend.id).get()

    backend.refresh_from_db()
    assert outcome["status"] == "failing" and backend.status == "failing"
    assert "timed out" in backend.last_error
    assert not Item.objects.filter(prelabel__isnull=False).exists()

    fake.stall.set()
    fake.stall = None
    with django_capture_on_commit_callbacks(execute=True):
        assert backends_check() == {"queued": 1}  # healthy, with items still to label: queued again
    backend.refresh_from_db()
    assert (backend.status, backend.last_error, backend.items_predicted) == ("ok", "", 2)


def test_a_new_model_version_predicts_the_open_items_again_as_a_new_annotator(
    fake, org_key, org_api, django_capture_on_commit_callbacks
):
    campaign = _campaign(org_key)
    assert _register(org_api, campaign, fake.url, django_capture_on_commit_callbacks, name="f").status_code == 201
    done = Item.objects.get(campaign=campaign, external_id="i0")
    Item.objects.filter(pk=done.pk).update(status=Item.Status.COMPLETE, result_label="neg", confidence=0.99)
    fake.health = {"status": "UP", "model_version": "v4"}
    fake.predict = lambda items: (200, {"results": [choice("pos", 0.6, version=None) for _ in items]})

    with django_capture_on_commit_callbacks(execute=True):
        assert backends_check() == {"new_version": 1}

    assert MLBackend.objects.get().model_version == "v4"
    models = dict(Item.objects.filter(campaign=campaign).values_list("external_id", "prelabel_model"))
    assert models == {"i0": "f@v3", "i1": "f@v4", "i2": "f@v4", "i3": "f@v4"}  # the complete item keeps v3's
    assert set(LabelModel.objects.values_list("version", flat=True)) == {"v3", "v4"}
    assert len(fake.paths("/predict")[-1]["tasks"]) == 3


def test_new_items_of_an_import_are_sent_to_the_campaign_backends(
    fake, org_key, org_api, django_capture_on_commit_callbacks
):
    campaign = _campaign(org_key, n=1)
    assert _register(org_api, campaign, fake.url, django_capture_on_commit_callbacks, name="f").status_code == 201

    with django_capture_on_commit_callbacks(execute=True):
        items_import(
            campaign_id=campaign.id,
            rows=[{"external_id": "later", "data": {"text": "good news"}, "language": "en"}],
        )

    assert Item.objects.get(external_id="later").prelabel_model == "f@v3"
    assert MLBackend.objects.get().items_predicted == 2


def test_training_is_asked_for_once_enough_new_final_labels_exist(
    fake, settings, org_key, org_api, django_capture_on_commit_callbacks
):
    settings.BACKEND_TRAIN_MIN_LABELS = 2
    campaign = _campaign(org_key)
    fake.health = {"status": "UP", "model_version": "v3", "supports_training": True}
    assert _register(org_api, campaign, fake.url, django_capture_on_commit_callbacks, name="f").status_code == 201
    backend = MLBackend.objects.get()
    assert backend.supports_training
    Item.objects.filter(external_id="i0").update(status=Item.Status.COMPLETE, result_label="neg")

    assert not backend_train_maybe(backend_id=backend.id)  # one new label: not yet
    Item.objects.filter(external_id="i1").update(status=Item.Status.COMPLETE, result_label="pos")
    assert backend_train_maybe(backend_id=backend.id)
    assert not backend_train_maybe(backend_id=backend.id)  # nothing new since

    (sent,) = fake.paths("/train")
    assert sent["project"] == str(campaign.id)
    labels = {task["data"]["text"]: task["annotations"][0]["result"][0]["value"]["choices"] for task in sent["tasks"]}
    assert labels == {"bad 0": ["neg"], "good 1": ["pos"]}
    assert MLBackend.objects.get().trained_labels == 2


def test_patch_checks_a_new_url_and_delete_keeps_the_prelabels(
    fake, org_key, org_api, django_capture_on_commit_callbacks
):
    campaign = _campaign(org_key)
    assert _register(org_api, campaign, fake.url, django_capture_on_commit_callbacks, name="f").status_code == 201
    backend = MLBackend.objects.get()
    url = f"/api/v1/campaigns/{campaign.id}/backends/{backend.id}/"

    factories.assert_error(org_api.patch(url, {"url": "http://127.0.0.1:9/"}, format="json"), 400, "backend_unhealthy")
    assert MLBackend.objects.get().url == fake.url  # nothing changed
    patched = org_api.patch(url, {"batch_size": 7, "timeout": 2.5, "active": False}, format="json")
    assert patched.status_code == 200
    assert (patched.json()["batch_size"], patched.json()["timeout"], patched.json()["active"]) == (7, 2.5, False)
    factories.assert_error(org_api.patch(url, {"name": "other"}, format="json"), 400)

    assert org_api.delete(url).status_code == 204
    assert not MLBackend.objects.exists()
    assert Item.objects.filter(campaign=campaign, prelabel_model="f@v3").count() == 4
    factories.assert_error(org_api.get(url), 404)


@pytest.mark.parametrize("value, allowed", [("1", True), ("", False)])
def test_the_private_address_allowance_follows_the_environment(value, allowed):
    """CROWDLOOP_WEBHOOKS_ALLOW_PRIVATE=1 is what the settings read, and the outbound door reads the settings."""
    import os
    import subprocess
    import sys

    code = (
        "import django; django.setup(); from config.outbound import private_allowed; "
        "from django.conf import settings; print(settings.OUTBOUND_ALLOW_PRIVATE, private_allowed())"
    )
    env = {**os.environ, "CROWDLOOP_WEBHOOKS_ALLOW_PRIVATE": value, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == [str(allowed), str(allowed)]


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1",  # an unclosed IPv6 bracket
        "http://example.org:99999/",  # a port out of range
        "http://example.org:abc/",  # a port that is not a number
        "http://exa mple.org/",  # a space in the host
        "http://" + "ñ" * 70 + ".org/",  # a label too long for IDNA
        "http://a..b/",  # an empty label
    ],
)
def test_a_malformed_url_is_a_400_and_nothing_is_stored(url, org_key, org_api, django_capture_on_commit_callbacks):
    campaign = _campaign(org_key)

    error = factories.assert_error(_register(org_api, campaign, url, django_capture_on_commit_callbacks), 400)

    assert "url" in error["fields"]
    assert not MLBackend.objects.exists()


def test_a_malformed_url_in_a_patch_is_a_400_and_nothing_changes(
    fake, org_key, org_api, django_capture_on_commit_callbacks
):
    campaign = _campaign(org_key)
    assert _register(org_api, campaign, fake.url, django_capture_on_commit_callbacks, name="f").status_code == 201
    url = f"/api/v1/campaigns/{campaign.id}/backends/{MLBackend.objects.get().id}/"

    for bad in ("http://[::1", "http://127.0.0.1:70000/", "http://a..b/"):
        factories.assert_error(org_api.patch(url, {"url": bad}, format="json"), 400)

    assert MLBackend.objects.get().url == fake.url


@pytest.mark.parametrize("version, stored", [("v\u0000 1", "v 1"), ("v\ud800", "v?")])
def test_a_model_version_postgresql_cannot_store_is_cleaned_not_a_500(
    version, stored, fake, org_key, org_api, django_capture_on_commit_callbacks
):
    """A NUL (PostgreSQL's text refuses it) or a lone surrogate (UTF-8 cannot encode it) in what a backend says."""
    campaign = _campaign(org_key, n=2)
    fake.health = {"status": "UP", "model_version": version}
    fake.predict = lambda items: (200, [choice("pos", version=version) for _ in items])

    response = _register(org_api, campaign, fake.url, django_capture_on_commit_callbacks, name="f")

    assert response.status_code == 201, response.content
    backend = MLBackend.objects.get()
    assert (backend.model_version, backend.status, backend.items_predicted) == (stored, "ok", 2)
    assert set(Item.objects.values_list("prelabel_model", flat=True)) == {f"f@{stored}"}
    assert LabelModel.objects.get().version == stored
    with django_capture_on_commit_callbacks(execute=True):
        assert backends_check() == {"ok": 1}  # the beat check reads the same version and does not trip on it


def test_a_json_answer_nested_too_deep_is_a_bad_answer_not_a_crash(
    fake, org_key, org_api, django_capture_on_commit_callbacks
):
    campaign = _campaign(org_key, n=2)
    fake.health = b"[" * 30_000  # under the health answer's 64 KiB cap, far over the JSON decoder's depth
    error = factories.assert_error(
        _register(org_api, campaign, fake.url, django_capture_on_commit_callbacks), 400, "backend_unhealthy"
    )
    assert "JSON" in error["message"] and not MLBackend.objects.exists()

    fake.health = {"status": "UP", "model_version": "v3"}
    fake.predict = lambda items: (200, b"[" * 100_000)
    assert _register(org_api, campaign, fake.url, django_capture_on_commit_callbacks, name="f").status_code == 201

    backend = MLBackend.objects.get()
    assert backend.status == "failing" and "JSON" in backend.last_error
    assert not Item.objects.filter(prelabel__isnull=False).exists()


@pytest.mark.parametrize("value", ["nan", "NaN", "-nan"])
def test_a_timeout_that_is_not_a_number_is_a_400_and_nothing_is_stored(
    value, fake, org_key, org_api, django_capture_on_commit_callbacks
):
    """float() reads the string "nan", and NaN passes every bound (it compares false): once stored, each call of
    the backend failed and every read of it was a 500 (JSON has no NaN)."""
    campaign = _campaign(org_key)

    error = factories.assert_error(
        _register(org_api, campaign, fake.url, django_capture_on_commit_callbacks, timeout=value), 400
    )

    assert "timeout" in error["fields"] and not MLBackend.objects.exists()
    assert _register(org_api, campaign, fake.url, django_capture_on_commit_callbacks, name="f").status_code == 201
    url = f"/api/v1/campaigns/{campaign.id}/backends/{MLBackend.objects.get().id}/"
    factories.assert_error(org_api.patch(url, {"timeout": value}, format="json"), 400)
    assert MLBackend.objects.get().timeout_seconds == 10.0
    assert org_api.get(f"/api/v1/campaigns/{campaign.id}/backends/").status_code == 200


def test_a_multi_choice_campaign_gets_and_sends_label_sets(
    fake, settings, org_key, org_api, django_capture_on_commit_callbacks
):
    """A multi-choice item's label is a set: a backend's choices are stored as one (a single string was read by
    aggregation as "chose nothing"), and training sends each final label's choices, not the list's repr."""
    settings.BACKEND_TRAIN_MIN_LABELS = 1
    campaign = factories.campaign(organization=org_key[0], task_type="multi_choice", labels=["pos", "neg"])
    items_import(
        campaign_id=campaign.id,
        rows=[{"external_id": f"m{i}", "data": {"text": f"text {i}"}, "language": "en"} for i in range(3)],
    )

    def region(*choices: str) -> dict:
        return {"result": [{"type": "choices", "value": {"choices": list(choices)}}], "score": 0.8}

    fake.health = {"status": "UP", "model_version": "v3", "supports_training": True}
    fake.predict = lambda items: (200, [region("pos", "neg"), region("neg"), region("pos", "maybe")])

    assert _register(org_api, campaign, fake.url, django_capture_on_commit_callbacks, name="f").status_code == 201

    prelabels = dict(Item.objects.filter(campaign=campaign).values_list("external_id", "prelabel"))
    assert prelabels == {"m0": ["neg", "pos"], "m1": ["neg"], "m2": None}  # "maybe" is not one of the labels
    backend = MLBackend.objects.get()
    assert (backend.items_predicted, backend.items_rejected) == (2, 1)

    Item.objects.filter(external_id="m0").update(status=Item.Status.COMPLETE, result_label=["neg", "pos"])
    assert backend_train_maybe(backend_id=backend.id)
    (sent,) = fake.paths("/train")
    assert sent["tasks"][0]["annotations"][0]["result"][0]["value"]["choices"] == ["neg", "pos"]


def test_a_backend_removed_while_the_beat_checks_it_does_not_stop_the_check_of_the_others(
    fake, monkeypatch, org_key, org_api, django_capture_on_commit_callbacks
):
    from crowd.model_loop import backends

    campaign = _campaign(org_key, n=2)
    for name in ("a", "b"):
        assert _register(org_api, campaign, fake.url, django_capture_on_commit_callbacks, name=name).status_code == 201
    first = MLBackend.objects.order_by("id").first()
    healthy = backends.backend_health

    def removed_meanwhile(*, url: str, timeout: float):
        MLBackend.objects.filter(pk=first.pk).delete()  # the coordinator deletes it during its health call
        return healthy(url=url, timeout=timeout)

    monkeypatch.setattr(backends, "backend_health", removed_meanwhile)
    with django_capture_on_commit_callbacks(execute=True):
        counts = backends_check()

    assert counts == {"gone": 1, "ok": 1}
