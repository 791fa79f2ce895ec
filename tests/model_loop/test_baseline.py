"""The built-in baseline: the pure classifier, and the job that trains it on a campaign and labels its open items."""

import random

import pytest

from crowd import tasks
from crowd.model_loop import baseline
from crowd.model_loop.baseline_jobs import baseline_train, campaigns_baseline_due
from crowd.models import BaselineRun, Item, LabelModel
from crowd.services.imports import items_import
from tests import factories

POSITIVE = ["good", "great", "happy", "wonderful", "clean", "safe"]
NEGATIVE = ["bad", "awful", "sad", "broken", "dirty", "unsafe"]
FILLER = ["the", "water", "pump", "school", "road", "clinic", "market", "today", "village", "was", "is", "very"]


def synthetic(n: int, *, seed: int = 1, noise: float = 0.05) -> tuple[list[str], list[str]]:
    """Texts of filler words with one or two signal words; `noise` of the labels flipped."""
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        label = rng.choice(["pos", "neg"])
        words = rng.sample(FILLER, 5) + rng.sample(POSITIVE if label == "pos" else NEGATIVE, rng.choice([1, 2]))
        rng.shuffle(words)
        if rng.random() < noise:
            label = "neg" if label == "pos" else "pos"
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


def test_the_classifier_learns_a_learnable_signal_and_reports_held_out_accuracy():
    texts, labels = synthetic(300)
    evaluation = baseline.evaluate(texts, labels, seed=1)
    assert (evaluation.trained_on, evaluation.held_out) == (240, 60)
    assert evaluation.accuracy >= 0.85

    model = baseline.fit(texts, labels)
    (label_a, p_a), (label_b, p_b) = baseline.predict(model, ["the road was great today", "the pump is broken"])
    assert (label_a, label_b) == ("pos", "neg") and 0.5 < p_a <= 1 and 0.5 < p_b <= 1


def test_the_classifier_refuses_a_single_label_and_finds_an_items_text():
    with pytest.raises(ValueError):
        baseline.fit(["a", "b"], ["pos", "pos"])
    assert baseline.item_text({"text": "hello"}) == "hello"
    assert baseline.item_text({"id": 3, "comment": "the body"}) == "the body"
    assert baseline.item_text({"image": ""}) is None and baseline.item_text("x") is None
    # An image's link is not its text (a text model would learn the file names), nor is any other link.
    assert baseline.item_text({"image_url": "https://cdn.example.org/cats/1.jpg"}) is None
    assert baseline.item_text({"photo": "HTTPS://cdn.example.org/1.jpg", "source_url": "clinic"}) is None
    assert baseline.item_text({"image_url": "https://cdn.example.org/1.jpg", "caption": "a cat"}) == "a cat"


def _campaign(*, labelled: int, open_: int, gold: int = 0, **fields):
    campaign = factories.campaign(baseline=True, target_confidence=0.9, **fields)
    texts, labels = synthetic(labelled + open_ + gold, seed=7)
    rows = [
        {"external_id": f"x{i}", "data": {"text": text}, "language": "en", **({"gold": label} if i < gold else {})}
        for i, (text, label) in enumerate(zip(texts, labels, strict=True))
    ]
    items_import(campaign_id=campaign.id, rows=rows)
    truth = dict(zip([row["external_id"] for row in rows], labels, strict=True))
    # The crowd's confident results on the first `labelled` non-gold items (as aggregation leaves them).
    for item in Item.objects.filter(campaign=campaign, gold__isnull=True).order_by("id")[:labelled]:
        Item.objects.filter(pk=item.pk).update(
            status=Item.Status.COMPLETE, result_label=truth[item.external_id], confidence=0.95
        )
    return campaign, truth


@pytest.mark.django_db
def test_the_baseline_trains_once_enough_items_are_labelled_records_its_accuracy_and_labels_open_items(settings):
    settings.BASELINE_MIN_ITEMS = 200
    campaign, truth = _campaign(labelled=230, open_=80, gold=20)
    unsure = Item.objects.filter(campaign=campaign, status="complete").order_by("-id").first()
    Item.objects.filter(pk=unsure.pk).update(confidence=0.5)  # below the target: not learned from
    other = Item.objects.filter(campaign=campaign, status="open", gold__isnull=True).order_by("id").first()
    Item.objects.filter(pk=other.pk).update(prelabel="pos", prelabel_model="partner@1")

    assert campaigns_baseline_due() == [campaign.id]
    result = tasks.baseline_train.delay(campaign.id).get()

    run = BaselineRun.objects.get(campaign=campaign)
    assert result["status"] == "trained" and run.version == 1
    assert (run.trained_on + run.held_out, run.held_out) == (249, 50)  # 229 confident + 20 gold; 20% held out
    assert run.accuracy >= 0.8 and run.items_labelled == 79
    opened = Item.objects.filter(campaign=campaign, status="open", gold__isnull=True).exclude(pk=other.pk)
    assert opened.count() == 79 and not opened.filter(prelabel__isnull=True).exists()
    assert set(opened.values_list("prelabel_model", flat=True)) == {"crowdloop-baseline@1"}
    right = sum(1 for item in opened if item.prelabel == truth[item.external_id])
    assert right / 79 >= 0.8
    assert all(0.5 <= item.prelabel_score <= 1 for item in opened)
    assert Item.objects.get(pk=other.pk).prelabel_model == "partner@1"  # another model's pre-label stays
    assert not Item.objects.filter(campaign=campaign, gold__isnull=False, prelabel__isnull=False).exists()
    assert not Item.objects.filter(campaign=campaign, status="complete", prelabel__isnull=False).exists()
    model = LabelModel.objects.get(organization=campaign.organization, name="crowdloop-baseline")
    assert (model.version, model.kind) == ("1", "builtin")

    # Not grown by a quarter: nothing to do.
    assert campaigns_baseline_due() == []
    assert baseline_train(campaign_id=campaign.id)["status"] == "waiting"


@pytest.mark.django_db
def test_the_baseline_retrains_when_the_labelled_items_grew_by_a_quarter_and_relabels_its_own(settings):
    settings.BASELINE_MIN_ITEMS = 200
    campaign, truth = _campaign(labelled=200, open_=120)
    assert baseline_train(campaign_id=campaign.id)["version"] == 1
    for item in Item.objects.filter(campaign=campaign, status="open").order_by("id")[:50]:
        Item.objects.filter(pk=item.pk).update(status="complete", result_label=truth[item.external_id], confidence=1)

    result = baseline_train(campaign_id=campaign.id)

    assert result["version"] == 2 and result["labelled"] == 70
    versions = BaselineRun.objects.filter(campaign=campaign).order_by("version").values_list("version", flat=True)
    assert list(versions) == [1, 2]
    opened = Item.objects.filter(campaign=campaign, status="open")
    assert set(opened.values_list("prelabel_model", flat=True)) == {"crowdloop-baseline@2"}


@pytest.mark.django_db
def test_the_baseline_waits_below_the_minimum_and_stays_off_unless_asked(settings):
    settings.BASELINE_MIN_ITEMS = 200
    campaign, _ = _campaign(labelled=150, open_=20)
    assert campaigns_baseline_due() == []
    assert baseline_train(campaign_id=campaign.id) == {"status": "waiting", "labelled": 150}
    off = factories.campaign()
    assert baseline_train(campaign_id=off.id) == {"status": "off"}
    free_text = factories.campaign(baseline=True, task_type="free_text", labels=[])
    assert baseline_train(campaign_id=free_text.id) == {"status": "off"}
    assert not BaselineRun.objects.exists() and not Item.objects.filter(prelabel__isnull=False).exists()


@pytest.mark.django_db
def test_an_image_campaign_never_trains_the_text_baseline_on_its_links(settings):
    settings.BASELINE_MIN_ITEMS = 10
    campaign = factories.campaign(baseline=True, target_confidence=0.9)
    rows = [
        {"external_id": f"i{i}", "data": {"image_url": f"https://cdn.example.org/{kind}/{i}.jpg"}, "language": "en"}
        for i, kind in enumerate(["pos", "neg"] * 10)
    ]
    items_import(campaign_id=campaign.id, rows=rows)
    for item in Item.objects.filter(campaign=campaign).order_by("id")[:16]:
        label = "pos" if "/pos/" in item.data["image_url"] else "neg"
        Item.objects.filter(pk=item.pk).update(status="complete", result_label=label, confidence=1)

    assert baseline_train(campaign_id=campaign.id) == {"status": "waiting", "labelled": 0}
    assert not BaselineRun.objects.exists() and not Item.objects.filter(prelabel__isnull=False).exists()


@pytest.mark.django_db
def test_the_baseline_runs_are_shown_to_readers(settings, org_key, org_api, other_org_api):
    settings.BASELINE_MIN_ITEMS = 200
    campaign, _ = _campaign(labelled=210, open_=10, organization=org_key[0])
    baseline_train(campaign_id=campaign.id)

    body = org_api.get(f"/api/v1/campaigns/{campaign.id}/baseline/").json()

    assert body["enabled"] is True
    (run,) = body["results"]
    assert body["next_cursor"] is None and body["next"] is None
    assert run["model"] == "crowdloop-baseline@1" and run["held_out"] == 42 and run["accuracy"] >= 0.8
    factories.assert_error(other_org_api.get(f"/api/v1/campaigns/{campaign.id}/baseline/"), 404)
    switched = org_api.patch(f"/api/v1/campaigns/{campaign.id}/", {"baseline": False}, format="json")
    assert switched.status_code == 200 and switched.json()["baseline"] is False
    assert org_api.get(f"/api/v1/campaigns/{campaign.id}/baseline/").json()["enabled"] is False


@pytest.mark.parametrize("seed", range(1, 11))
def test_a_label_seen_once_stays_in_the_training_share_so_evaluation_can_fit(seed):
    """Held out, a label's only example would leave the training share one label short (or with one label only)."""
    texts = [f"good day number {i}" for i in range(9)] + ["bad day"]
    labels = ["pos"] * 9 + ["neg"]

    evaluation = baseline.evaluate(texts, labels, seed=seed)

    assert (evaluation.trained_on, evaluation.held_out) == (8, 2)  # still 20% held out, always of "pos"
    assert evaluation.accuracy == 1.0


@pytest.mark.parametrize("texts", [["a", "b"], ["😀", "😡"], ["好", "坏"]])
def test_texts_without_a_word_of_two_letters_are_learned_from_their_characters(texts):
    """The word tokenizer keeps words of two letters or more: single letters, emoji, one CJK character each
    would leave it no vocabulary at all."""
    model = baseline.fit(texts * 5, ["pos", "neg"] * 5)

    assert [label for label, _ in baseline.predict(model, texts)] == ["pos", "neg"]
    assert baseline.evaluate(texts * 5, ["pos", "neg"] * 5, seed=1).accuracy == 1.0


@pytest.mark.django_db
def test_the_job_trains_on_a_campaign_of_emoji(settings):
    settings.BASELINE_MIN_ITEMS = 10
    campaign = factories.campaign(baseline=True, target_confidence=0.9)
    faces = {"😀": "pos", "😡": "neg"}
    items_import(
        campaign_id=campaign.id,
        rows=[
            {"external_id": f"e{i}", "data": {"text": face}, "language": "en"} for i, face in enumerate([*faces] * 8)
        ],
    )
    for item in Item.objects.filter(campaign=campaign).order_by("id")[:12]:
        Item.objects.filter(pk=item.pk).update(status="complete", result_label=faces[item.data["text"]], confidence=1)

    result = baseline_train(campaign_id=campaign.id)

    assert result["status"] == "trained" and result["labelled"] == 4
    opened = Item.objects.filter(campaign=campaign, status="open")
    assert all(item.prelabel == faces[item.data["text"]] for item in opened)
