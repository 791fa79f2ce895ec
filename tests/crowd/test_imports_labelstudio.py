"""Label Studio exports (JSON, JSON_MIN, CSV) read into import rows (pure, no database)."""

import copy
import csv
import io
import itertools
import json

import pytest

from crowd.imports_labelstudio import (
    ERROR_KEY,
    NOTE_KEY,
    flat_rows,
    is_labelstudio_csv,
    is_labelstudio_min,
    is_labelstudio_task,
    labelstudio_rows,
    task_row,
    task_rows,
)
from crowd.labels import LabelChecker, RowError
from crowd.models import Campaign

ROW_KEYS = {"external_id", "data", "language", "gold", "prelabel", NOTE_KEY}

# Label Studio 1.23's JSON export of a sentiment project (Choices "sentiment" on Text "text"): task 101 annotated
# twice alike; task 102 annotated once but that annotation was skipped, and a model predicted it.
LS_JSON = """[
  {
    "id": 101,
    "annotations": [
      {"id": 11, "completed_by": 1,
       "result": [{"value": {"choices": ["Positive"]}, "id": "kq2Xr0Ls", "from_name": "sentiment",
                   "to_name": "text", "type": "choices", "origin": "manual"}],
       "was_cancelled": false, "ground_truth": false, "created_at": "2025-05-02T09:14:03.127563Z",
       "updated_at": "2025-05-02T09:14:03.127580Z", "draft_created_at": null, "lead_time": 6.71,
       "prediction": {}, "result_count": 1, "unique_id": "5d1b4b1e-8d5b-4c63-9a3e-2a1a7f0a5c10",
       "import_id": null, "last_action": null, "bulk_created": false, "task": 101, "project": 3,
       "updated_by": 1, "parent_prediction": null, "parent_annotation": null, "last_created_by": null},
      {"id": 12, "completed_by": 2,
       "result": [{"value": {"choices": ["Positive"]}, "id": "Zt81pQw3", "from_name": "sentiment",
                   "to_name": "text", "type": "choices", "origin": "manual"}],
       "was_cancelled": false, "ground_truth": false, "created_at": "2025-05-02T09:20:41.004411Z",
       "updated_at": "2025-05-02T09:20:41.004430Z", "draft_created_at": null, "lead_time": 3.2,
       "prediction": {}, "result_count": 1, "unique_id": "9a0c5f7e-1b52-4d0b-8f4e-6c2b1e9d7a21",
       "import_id": null, "last_action": null, "bulk_created": false, "task": 101, "project": 3,
       "updated_by": 2, "parent_prediction": null, "parent_annotation": null, "last_created_by": null}
    ],
    "file_upload": "d2a6c1f0-reviews.json", "drafts": [], "predictions": [],
    "data": {"text": "Battery lasts two days, great phone."},
    "meta": {}, "created_at": "2025-05-01T16:02:11.345101Z", "updated_at": "2025-05-02T09:20:41.061288Z",
    "inner_id": 1, "total_annotations": 2, "cancelled_annotations": 0, "total_predictions": 0,
    "comment_count": 0, "unresolved_comment_count": 0, "last_comment_updated_at": null, "project": 3,
    "updated_by": 2, "comment_authors": [], "allow_skip": true
  },
  {
    "id": 102,
    "annotations": [
      {"id": 13, "completed_by": 1, "result": [], "was_cancelled": true, "ground_truth": false,
       "created_at": "2025-05-02T09:15:10.200100Z", "updated_at": "2025-05-02T09:15:10.200120Z",
       "draft_created_at": null, "lead_time": 1.05, "prediction": {}, "result_count": 0,
       "unique_id": "0e4f2b8c-3d17-4a4e-b0d2-7f3c9a1e5b32", "import_id": null, "last_action": null,
       "bulk_created": false, "task": 102, "project": 3, "updated_by": 1, "parent_prediction": null,
       "parent_annotation": null, "last_created_by": null}
    ],
    "file_upload": "d2a6c1f0-reviews.json", "drafts": [],
    "predictions": [
      {"id": 5, "result": [{"id": "p1", "from_name": "sentiment", "to_name": "text", "type": "choices",
                            "value": {"choices": ["Negative"]}}],
       "model_version": "sentiment-bert-v2", "created_ago": "3 hours", "score": 0.82, "cluster": null,
       "neighbors": null, "mislabeling": 0.0, "created_at": "2025-05-01T16:05:00.000000Z",
       "updated_at": "2025-05-01T16:05:00.000000Z", "model": null, "model_run": null, "task": 102, "project": 3}
    ],
    "data": {"text": "Screen cracked within a week."},
    "meta": {}, "created_at": "2025-05-01T16:02:11.345122Z", "updated_at": "2025-05-02T09:15:10.251000Z",
    "inner_id": 2, "total_annotations": 0, "cancelled_annotations": 1, "total_predictions": 1,
    "comment_count": 0, "unresolved_comment_count": 0, "last_comment_updated_at": null, "project": 3,
    "updated_by": 1, "comment_authors": [], "allow_skip": true
  }
]"""

# The same project exported as JSON_MIN: task 101 twice (two annotations), a multi-choice-style value on a third
# task, and task 104 without annotations (Label Studio writes it with null bookkeeping and no tag key).
LS_JSON_MIN = """[
  {"text": "Battery lasts two days, great phone.", "id": 101, "sentiment": "Positive", "annotator": 1,
   "annotation_id": 11, "created_at": "2025-05-02T09:14:03.127563Z", "updated_at": "2025-05-02T09:14:03.127580Z",
   "lead_time": 6.71},
  {"text": "Battery lasts two days, great phone.", "id": 101, "sentiment": "Positive", "annotator": 2,
   "annotation_id": 12, "created_at": "2025-05-02T09:20:41.004411Z", "updated_at": "2025-05-02T09:20:41.004430Z",
   "lead_time": 3.2},
  {"text": "Screen cracked within a week.", "id": 102, "sentiment": "Negative", "annotator": 1,
   "annotation_id": 14, "created_at": "2025-05-02T09:30:00.000000Z", "updated_at": "2025-05-02T09:30:00.000000Z",
   "lead_time": 2.5},
  {"text": "Fine.", "id": 104, "annotator": null, "annotation_id": null, "created_at": null,
   "updated_at": null, "lead_time": null}
]"""

# Label Studio's CSV: columns sorted, one line per annotation, absent values as empty cells.
LS_CSV = """annotation_id,annotator,created_at,id,lead_time,sentiment,text,updated_at
11,1,"2025-05-02T09:14:03Z",101,6.71,"Positive","Battery lasts two days, great phone.","2025-05-02T09:14:03Z"
12,2,"2025-05-02T09:20:41Z",101,3.2,"Negative","Battery lasts two days, great phone.","2025-05-02T09:20:41Z"
14,1,"2025-05-02T09:30:00Z",102,2.5,"Negative","Screen cracked within a week.","2025-05-02T09:30:00Z"
,,,104,,,"Fine.",
"""


def _annotation(from_name: str, value: dict, *, kind: str = "choices", **extra) -> dict:
    result = {"id": "r1", "from_name": from_name, "to_name": "text", "type": kind, "value": value, "origin": "manual"}
    return {"id": 1, "completed_by": 1, "result": [result], "was_cancelled": False, "ground_truth": False, **extra}


def _choices(*choices: str, **extra) -> dict:
    return _annotation("sentiment", {"choices": list(choices)}, **extra)


def _task(*annotations: dict, predictions: tuple = (), task_id: int = 7, data: dict | None = None, **extra) -> dict:
    return {
        "id": task_id,
        "data": data if data is not None else {"text": "Arrived late."},
        "annotations": list(annotations),
        "predictions": list(predictions),
        "meta": {},
        "inner_id": 1,
        "project": 3,
        "allow_skip": True,
        **extra,
    }


def _prediction(label: str, *, model_version: str | None = "m1", score=None, result_score=None) -> dict:
    result = {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}
    if result_score is not None:
        result["score"] = result_score
    return {"id": 1, "result": [result], "model_version": model_version, "score": score}


def _error(row: dict) -> RowError:
    assert set(row) == {ERROR_KEY}, row
    return row[ERROR_KEY]


def _csv_records(text: str) -> csv.DictReader:
    return csv.DictReader(io.StringIO(text), strict=True)


# --- Full JSON -------------------------------------------------------------------------------------------------


def test_json_export_trusted_agreeing_annotations_become_gold_and_a_prediction_a_prelabel():
    rows = list(task_rows(json.loads(LS_JSON), task_type="single_choice", trusted=True))

    assert rows == [
        {"external_id": "101", "data": {"text": "Battery lasts two days, great phone."}, "gold": "Positive"},
        {
            "external_id": "102",
            "data": {"text": "Screen cracked within a week."},
            "prelabel": {"label": "Negative", "model": "sentiment-bert-v2", "score": 0.82},
        },
    ]


def test_json_export_untrusted_annotations_become_a_prelabel_scored_by_agreement():
    rows = list(task_rows(json.loads(LS_JSON), task_type="single_choice", trusted=False))

    assert rows[0]["prelabel"] == {"label": "Positive", "model": "labelstudio-annotations", "score": 1.0}
    assert "gold" not in rows[0]
    assert rows[1]["prelabel"]["model"] == "sentiment-bert-v2"


def test_bookkeeping_never_reaches_data_and_the_input_is_not_changed():
    tasks = json.loads(LS_JSON)
    before = copy.deepcopy(tasks)

    rows = list(task_rows(tasks, task_type="single_choice", trusted=True))

    assert [row["data"] for row in rows] == [task["data"] for task in before]
    assert all(set(row) <= ROW_KEYS for row in rows)
    assert tasks == before


def test_trusted_disagreement_gives_no_gold_and_a_note_saying_why():
    task = _task(_choices("Positive"), _choices("Negative"), _choices("Positive"))

    row = task_row(task, task_type="single_choice", trusted=True)

    assert "gold" not in row
    assert "prelabel" not in row
    assert row[NOTE_KEY] == "Annotations disagree ('Positive' 2x, 'Negative' 1x): no gold taken."


def test_untrusted_disagreement_prelabels_the_majority_with_its_share():
    task = _task(
        _choices("Positive"), _choices("Negative"), _choices("Positive"), predictions=(_prediction("Neutral"),)
    )

    row = task_row(task, task_type="single_choice", trusted=False)

    # People outrank the model's prediction.
    assert row["prelabel"] == {"label": "Positive", "model": "labelstudio-annotations", "score": pytest.approx(2 / 3)}
    assert NOTE_KEY not in row


def test_trusted_disagreement_still_takes_a_prediction_as_prelabel():
    task = _task(_choices("Positive"), _choices("Negative"), predictions=(_prediction("Neutral", score=0.4),))

    row = task_row(task, task_type="single_choice", trusted=True)

    assert row["prelabel"] == {"label": "Neutral", "model": "m1", "score": 0.4}
    assert NOTE_KEY in row


def test_a_ground_truth_annotation_outranks_the_others():
    task = _task(_choices("Negative"), _choices("Positive", ground_truth=True), _choices("Negative"))

    assert task_row(task, task_type="single_choice", trusted=True)["gold"] == "Positive"
    untrusted = task_row(task, task_type="single_choice", trusted=False)
    assert untrusted["prelabel"] == {"label": "Positive", "model": "labelstudio-annotations", "score": 1.0}


def test_ground_truth_annotations_that_disagree_give_no_gold():
    task = _task(_choices("Negative", ground_truth=True), _choices("Positive", ground_truth=True))

    row = task_row(task, task_type="single_choice", trusted=True)

    assert "gold" not in row
    assert row[NOTE_KEY].startswith("Ground-truth annotations disagree")


def test_cancelled_annotations_do_not_vote():
    task = _task(_choices("Positive"), _choices("Negative", was_cancelled=True))

    assert task_row(task, task_type="single_choice", trusted=True)["gold"] == "Positive"


def test_the_highest_scored_prediction_wins_its_score_clamped():
    predictions = (
        _prediction("Negative", model_version="small", score=0.3),
        _prediction("Positive", model_version="large", score=0.2, result_score=1.7),  # the result's score first
        _prediction("Neutral", model_version=None),  # unscored: last
    )

    row = task_row(_task(predictions=predictions), task_type="single_choice", trusted=True)

    assert row["prelabel"] == {"label": "Positive", "model": "large", "score": 1.0}


def test_a_prediction_without_model_version_or_score():
    task = _task(predictions=(_prediction("Neutral", model_version=""),))

    row = task_row(task, task_type="single_choice", trusted=True)

    assert row["prelabel"] == {"label": "Neutral", "model": "labelstudio-prediction"}


def test_a_task_without_annotations_or_predictions_is_a_plain_item():
    assert task_row(_task(), task_type="single_choice", trusted=True) == {
        "external_id": "7",
        "data": {"text": "Arrived late."},
    }


def test_multi_choice_labels_are_lists_and_agree_in_any_order():
    task = _task(_choices("battery", "screen"), _choices("screen", "battery"))

    row = task_row(task, task_type="multi_choice", trusted=True)

    assert row["gold"] == ["battery", "screen"]


def test_free_text_reads_the_textarea_and_agrees_regardless_of_case_and_spaces():
    answer = _annotation("transcript", {"text": ["Habari  ya asubuhi"]}, kind="textarea")
    other = _annotation("transcript", {"text": ["habari ya asubuhi", "second line"]}, kind="textarea")
    sentiment = _choices("Positive")  # a choice tag: no free_text label, so not ambiguous

    row = task_row(_task(answer, other, sentiment), task_type="free_text", trusted=True)

    assert row["gold"] == "Habari  ya asubuhi"


def test_taxonomy_paths_stand_for_their_last_element():
    single = _annotation("topic", {"taxonomy": [["Hardware", "Battery"]]}, kind="taxonomy")
    several = _annotation("topic", {"taxonomy": [["Hardware", "Battery"], ["Hardware", "Screen"]]}, kind="taxonomy")

    assert task_row(_task(single), task_type="single_choice", trusted=True)["gold"] == "Battery"
    assert task_row(_task(several), task_type="multi_choice", trusted=True)["gold"] == ["Battery", "Screen"]


def test_several_choices_for_single_choice_are_passed_on_for_validation_to_reject():
    row = task_row(_task(_choices("Positive", "Negative")), task_type="single_choice", trusted=True)

    assert row["gold"] == ["Positive", "Negative"]
    checker = LabelChecker(Campaign(task_type="single_choice", labels=[{"value": "Positive"}, {"value": "Negative"}]))
    with pytest.raises(RowError, match="one label"):
        checker.check(row["gold"], "gold")


def test_spans_and_ratings_are_not_labels():
    span = _annotation("ner", {"start": 0, "end": 7, "text": "Arrived", "labels": ["EVENT"]}, kind="labels")
    rating = _annotation("stars", {"rating": 4}, kind="rating")

    row = task_row(_task(span, rating, _choices("Negative")), task_type="single_choice", trusted=True)

    assert row["gold"] == "Negative"
    assert row["data"] == {"text": "Arrived late."}


def test_several_control_tags_need_a_from_name():
    topic = _annotation("topic", {"choices": ["Delivery"]})
    task = _task(_choices("Negative"), topic, task_id=55)

    error = _error(task_row(task, task_type="single_choice", trusted=True))
    assert error.field == "from_name"
    assert error.message.startswith("Label Studio task 55: Several control tags")
    assert "sentiment, topic" in error.message

    assert task_row(task, task_type="single_choice", trusted=True, from_name="topic")["gold"] == "Delivery"
    assert task_row(task, task_type="single_choice", trusted=True, from_name="sentiment")["gold"] == "Negative"


def test_a_named_tag_of_the_wrong_kind_is_an_error():
    span = _annotation("ner", {"start": 0, "end": 7, "text": "Arrived", "labels": ["EVENT"]}, kind="labels")
    comment = _annotation("comment", {"text": ["late again"]}, kind="textarea")

    assert (
        "'labels' results"
        in _error(task_row(_task(span), task_type="free_text", trusted=True, from_name="ner")).message
    )
    wrong = task_row(_task(comment), task_type="single_choice", trusted=True, from_name="comment")
    assert "Holds text" in _error(wrong).message
    assert (
        "Holds choices"
        in _error(task_row(_task(_choices("a")), task_type="free_text", trusted=True, from_name="sentiment")).message
    )


def test_per_region_results_are_an_error():
    task = _task(_choices("Positive"))
    task["annotations"][0]["result"].append(dict(task["annotations"][0]["result"][0], id="r2"))

    assert "per-region" in _error(task_row(task, task_type="single_choice", trusted=True)).message


def test_tasks_must_read_the_same_tag_when_none_is_named():
    first = _task(_choices("Negative"), task_id=1)
    second = _task(_annotation("topic", {"choices": ["Delivery"]}), task_id=2)

    rows = list(task_rows([first, second], task_type="single_choice", trusted=True))

    assert rows[0]["gold"] == "Negative"
    assert "earlier tasks 'sentiment'" in _error(rows[1]).message


@pytest.mark.parametrize(
    ("task", "external_id", "data"),
    [
        (_task(data={"text": "a", "external_id": "rev-9"}), "rev-9", {"text": "a"}),
        (_task(data={"text": "a", "external_id": 9}), "9", {"text": "a"}),
        (_task(data={"text": "a", "external_id": ""}, meta={"external_id": "m-1"}), "m-1", {"text": "a"}),
        (_task(data={"text": "a"}, meta={"external_id": "m-1"}), "m-1", {"text": "a"}),
        (_task(data={"text": "a"}, task_id=31), "31", {"text": "a"}),
    ],
)
def test_external_id_comes_from_data_then_meta_then_the_task_id(task, external_id, data):
    row = task_row(task, task_type="single_choice", trusted=True)

    assert (row["external_id"], row["data"]) == (external_id, data)


def test_bad_tasks_become_error_rows():
    no_id = {"data": {"text": "a"}, "annotations": []}
    odd_id = _task(data={"text": "a", "external_id": {"x": 1}})
    bad_annotations = _task(annotations="many")

    assert _error(task_row(no_id, task_type="single_choice", trusted=True)).field == "external_id"
    assert _error(task_row(odd_id, task_type="single_choice", trusted=True)).field == "data.external_id"
    assert _error(task_row(bad_annotations, task_type="single_choice", trusted=True)).field == "annotations"
    assert _error(task_row("text", task_type="single_choice", trusted=True)).field == "data"
    rows = list(task_rows([{"external_id": "1", "data": {"a": 1}}], task_type="single_choice", trusted=True))
    assert "Not a Label Studio task" in _error(rows[0]).message


def test_an_unknown_task_type_is_a_programming_error():
    with pytest.raises(ValueError):
        task_row(_task(), task_type="ranking", trusted=True)


# --- JSON_MIN --------------------------------------------------------------------------------------------------


def test_json_min_groups_a_tasks_annotations_and_drops_bookkeeping():
    rows = list(flat_rows(json.loads(LS_JSON_MIN), task_type="single_choice", trusted=True))

    assert rows == [
        {"external_id": "101", "data": {"text": "Battery lasts two days, great phone."}, "gold": "Positive"},
        {"external_id": "102", "data": {"text": "Screen cracked within a week."}, "gold": "Negative"},
        {"external_id": "104", "data": {"text": "Fine."}},
    ]


def test_json_min_untrusted_and_disagreeing():
    records = json.loads(LS_JSON_MIN)
    records[1]["sentiment"] = "Negative"

    trusted = list(flat_rows(records, task_type="single_choice", trusted=True))
    untrusted = list(flat_rows(records, task_type="single_choice", trusted=False))

    assert "gold" not in trusted[0]
    assert trusted[0][NOTE_KEY] == "Annotations disagree ('Positive' 1x, 'Negative' 1x): no gold taken."
    assert untrusted[0]["prelabel"] == {"label": "Positive", "model": "labelstudio-annotations", "score": 0.5}


def test_json_min_multi_choice_values():
    records = [
        {"text": "t", "id": 1, "issues": {"choices": ["battery", "screen"]}, "annotator": 1, "annotation_id": 1,
         "created_at": None, "updated_at": None, "lead_time": 1.0},
        {"text": "t", "id": 1, "issues": {"choices": ["screen", "battery"]}, "annotator": 2, "annotation_id": 2,
         "created_at": None, "updated_at": None, "lead_time": 1.0},
        {"text": "u", "id": 2, "issues": "battery", "annotator": 1, "annotation_id": 3,  # one choice: a bare text
         "created_at": None, "updated_at": None, "lead_time": 1.0},
    ]  # fmt: skip

    rows = list(flat_rows(records, task_type="multi_choice", trusted=True))

    assert [row["gold"] for row in rows] == [["battery", "screen"], ["battery"]]
    assert rows[0]["data"] == {"text": "t"}


def test_json_min_free_text_and_taxonomy():
    base = {"annotator": 1, "annotation_id": 1, "created_at": None, "updated_at": None, "lead_time": 1.0}
    text = [{"audio": "a.wav", "id": 1, "transcript": "habari", **base}]
    taxonomy = [{"text": "t", "id": 1, "topic": [{"taxonomy": [["Hardware", "Battery"]]}], **base}]

    assert next(flat_rows(text, task_type="free_text", trusted=True))["gold"] == "habari"
    assert next(flat_rows(taxonomy, task_type="single_choice", trusted=True))["gold"] == "Battery"


def test_json_min_several_control_tags():
    records = [
        {"text": "t", "id": 1, "sentiment": "Negative", "topic": "Delivery", "annotator": 1, "annotation_id": 1,
         "created_at": None, "updated_at": None, "lead_time": 1.0},
    ]  # fmt: skip

    error = _error(next(flat_rows(records, task_type="single_choice", trusted=True)))
    assert error.field == "from_name"
    assert "sentiment, topic" in error.message

    row = next(flat_rows(records, task_type="single_choice", trusted=True, from_name="topic", ignore=("sentiment",)))
    assert row == {"external_id": "1", "data": {"text": "t"}, "gold": "Delivery"}


def test_json_min_with_a_data_key_named_id_is_refused_rather_than_mislabeled():
    # Label Studio overwrote the data's own "id" in place, so its data keys sit among the tag keys.
    records = [
        {"id": 5, "text": "t", "sentiment": "Negative", "annotator": 1, "annotation_id": 1,
         "created_at": None, "updated_at": None, "lead_time": 1.0},
    ]  # fmt: skip

    assert _error(next(flat_rows(records, task_type="single_choice", trusted=True))).field == "from_name"
    named = next(flat_rows(records, task_type="single_choice", trusted=True, from_name="sentiment"))
    assert named == {"external_id": "5", "data": {"text": "t"}, "gold": "Negative"}


def test_json_min_external_id_from_the_data():
    records = [{"text": "t", "external_id": "rev-3", "id": 1, "annotator": None, "annotation_id": None,
                "created_at": None, "updated_at": None, "lead_time": None}]  # fmt: skip

    assert next(flat_rows(records, task_type="single_choice", trusted=True)) == {
        "external_id": "rev-3",
        "data": {"text": "t"},
    }


def test_a_task_id_met_again_later_is_not_regrouped():
    records = json.loads(LS_JSON_MIN)
    records = [records[0], records[2], records[1]]  # 101, 102, 101 again

    rows = list(flat_rows(records, task_type="single_choice", trusted=True))

    # The importer rejects the repeated external id as a duplicate; nothing here remembers ids.
    assert [row["external_id"] for row in rows] == ["101", "102", "101"]


def test_flat_records_stream_one_task_at_a_time():
    def endless():
        for n in itertools.count(1):
            for annotator in (1, 2):
                yield {
                    **{"text": f"review {n}", "id": n, "sentiment": "Positive", "annotator": annotator},
                    **{"annotation_id": n * 10 + annotator, "created_at": None, "updated_at": None, "lead_time": 1.0},
                }

    rows = list(itertools.islice(flat_rows(endless(), task_type="single_choice", trusted=True), 3))

    assert [row["external_id"] for row in rows] == ["1", "2", "3"]


def test_bad_flat_records_become_error_rows():
    rows = list(flat_rows(["text", {"text": "t", "annotation_id": 1}], task_type="single_choice", trusted=True))

    assert _error(rows[0]).message == "Each record must be an object."
    assert _error(rows[1]).field == "id"
    full_task = list(flat_rows([_task()], task_type="single_choice", trusted=True))
    assert "JSON_MIN" in _error(full_task[0]).message


# --- CSV -------------------------------------------------------------------------------------------------------


def test_csv_export_with_a_task_annotated_twice():
    rows = list(
        flat_rows(_csv_records(LS_CSV), task_type="single_choice", trusted=True, from_csv=True, from_name="sentiment")
    )

    assert rows == [
        {
            "external_id": "101",
            "data": {"text": "Battery lasts two days, great phone."},
            NOTE_KEY: "Annotations disagree ('Positive' 1x, 'Negative' 1x): no gold taken.",
        },
        {"external_id": "102", "data": {"text": "Screen cracked within a week."}, "gold": "Negative"},
        {"external_id": "104", "data": {"text": "Fine."}},
    ]
    untrusted = list(
        flat_rows(_csv_records(LS_CSV), task_type="single_choice", trusted=False, from_csv=True, from_name="sentiment")
    )
    assert untrusted[1]["prelabel"] == {"label": "Negative", "model": "labelstudio-annotations", "score": 1.0}


def test_csv_of_bare_choices_needs_the_control_tag():
    rows = list(flat_rows(_csv_records(LS_CSV), task_type="single_choice", trusted=True, from_csv=True))

    assert _error(rows[0]).field == "from_name"
    assert rows[2] == {"external_id": "104", "data": {"text": "Fine."}}  # nothing to tell: no annotation
    missing = list(
        flat_rows(_csv_records(LS_CSV), task_type="single_choice", trusted=True, from_csv=True, from_name="x")
    )
    assert "No column 'x'" in _error(missing[0]).message


def test_csv_multi_choice_cells_hold_json_and_tell_the_tag():
    text = (
        "annotation_id,annotator,created_at,id,issues,lead_time,text,updated_at\n"
        '21,1,"2025-05-03T08:00Z",7,"{""choices"": [""battery"", ""screen""]}",2.0,"Dead by noon","2025-05-03T08:00Z"\n'
        '22,2,"2025-05-03T08:01Z",7,"{""choices"": [""screen"", ""battery""]}",2.5,"Dead by noon","2025-05-03T08:01Z"\n'
        '23,1,"2025-05-03T08:02Z",8,"battery",1.1,"Slow charger","2025-05-03T08:02Z"\n'
    )

    rows = list(flat_rows(_csv_records(text), task_type="multi_choice", trusted=True, from_csv=True))

    assert rows == [
        {"external_id": "7", "data": {"text": "Dead by noon"}, "gold": ["battery", "screen"]},
        # A bare cell: the tag found on earlier tasks tells it is an answer, not data.
        {"external_id": "8", "data": {"text": "Slow charger"}, "gold": ["battery"]},
    ]


def test_csv_data_cells_that_look_like_json_stay_text():
    text = (
        "annotation_id,annotator,created_at,id,lead_time,meta_info,sentiment,text,updated_at\n"
        '1,1,,5,1.0,"{""source"": ""app""}","Positive","ok",\n'
    )

    row = next(
        flat_rows(_csv_records(text), task_type="single_choice", trusted=True, from_csv=True, from_name="sentiment")
    )

    assert row["data"] == {"meta_info": '{"source": "app"}', "text": "ok"}


def test_csv_rows_with_too_many_cells_are_errors():
    text = "annotation_id,annotator,id,sentiment,text\n1,1,5,Positive,ok,extra\n"

    row = next(
        flat_rows(_csv_records(text), task_type="single_choice", trusted=True, from_csv=True, from_name="sentiment")
    )

    assert "More cells" in _error(row).message


# --- Detection and dispatch ------------------------------------------------------------------------------------


def test_detection():
    tasks, records = json.loads(LS_JSON), json.loads(LS_JSON_MIN)

    assert is_labelstudio_task(tasks[0]) and not is_labelstudio_min(tasks[0])
    assert is_labelstudio_min(records[0]) and not is_labelstudio_task(records[0])
    assert is_labelstudio_min(records[3])  # unannotated: still has the bookkeeping keys
    crowdloop_row = {"external_id": "1", "data": {"text": "a"}, "gold": "pos"}
    assert not is_labelstudio_task(crowdloop_row) and not is_labelstudio_min(crowdloop_row)
    assert is_labelstudio_csv(_csv_records(LS_CSV).fieldnames)
    assert is_labelstudio_csv(["annotator", "id", "lead_time", "text"])
    assert not is_labelstudio_csv(["external_id", "text", "gold"])
    assert not is_labelstudio_csv(None)


def test_labelstudio_rows_reads_either_json_export():
    full = list(labelstudio_rows(json.loads(LS_JSON), task_type="single_choice", trusted=True))
    minimal = list(labelstudio_rows(json.loads(LS_JSON_MIN), task_type="single_choice", trusted=True))

    assert [row["external_id"] for row in full] == ["101", "102"]
    assert [row["external_id"] for row in minimal] == ["101", "102", "104"]
    assert list(labelstudio_rows([], task_type="single_choice", trusted=True)) == []
    mixed = list(
        labelstudio_rows([json.loads(LS_JSON)[0], json.loads(LS_JSON_MIN)[0]], task_type="single_choice", trusted=True)
    )
    assert "gold" in mixed[0]
    assert ERROR_KEY in mixed[1]
