"""Label Studio export: tasks that Label Studio 1.23 imports as they are, and the labeling config that matches them.

What Label Studio does with a task it imports decides the shape (tried against a real 1.23.2):

- An annotation without `ground_truth` is imported as ground truth by the importing admin, so the crowd's
  aggregated label is a **prediction**: `model_version` names the aggregation run, `score` is its confidence.
  Label Studio counts it as a prediction, never as someone's answer.
- Gold items are annotations with `ground_truth: true`: that is what gold means there too.
- Raw answers, when asked for, are annotations with `ground_truth: false`, `lead_time` the time on task.
- An item's own pre-label is a prediction of its model, with its score.
- Label Studio assigns its own task ids, so Crowdloop's are kept in `meta.crowdloop` (and the external id in
  `data.external_id`, where Crowdloop's import looks first).
- Results name the tags of the labeling config shipped beside the export (`labelstudio_config`): one object tag
  per data key (`Image` for image keys, `Text` for the others) and one control tag for the label. With names
  that match no tag, Label Studio drops the labels from its own JSON_MIN and CSV exports without a warning.

Crowdloop's import reads these files back (`crowd/imports_labelstudio.py`): the same items, data, pre-labels and,
when the annotations are trusted, gold. It skips the aggregation's predictions (`AGGREGATION_MODEL`): they are
another campaign's results, not a model's guess.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from django.db import connection

from crowd.exports import decided_by, json_array
from crowd.imports_labelstudio import AGGREGATION_MODEL
from crowd.models import AggregationRun, Answer, Campaign, Item

IMAGE_KEYS = frozenset({"image", "image_url"})
_TAG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True)
class Layout:
    """The labeling config's tags: (tag, data key) for each object shown, and the control tag's name."""

    objects: tuple[tuple[str, str], ...]
    control: str

    @property
    def to_name(self) -> str:
        return self.objects[0][1]


def layout_for(data_keys: Iterable[str]) -> Layout:
    """Object tags for the data keys a config can name (`$key` needs an identifier; `external_id` is
    bookkeeping): images first so the label points at the picture, then `text`, then the rest; a `text` tag when
    no key fits."""
    keys = sorted({key for key in data_keys if _TAG_NAME.match(key) and key != "external_id"})
    ordered = sorted(keys, key=lambda key: (key not in IMAGE_KEYS, key != "text", key))
    objects = tuple(("Image" if key in IMAGE_KEYS else "Text", key) for key in ordered or ["text"])
    control = "label" if "label" not in keys else "crowdloop_label"
    return Layout(objects=objects, control=control)


def labelstudio_config(campaign: Campaign, layout: Layout) -> str:
    """The XML labeling config the export's results name: paste it into a Label Studio project before importing."""
    view = ElementTree.Element("View")
    for tag, key in layout.objects:
        ElementTree.SubElement(view, tag, name=key, value=f"${key}")
    if campaign.task_type == Campaign.TaskType.FREE_TEXT:
        ElementTree.SubElement(view, "TextArea", name=layout.control, toName=layout.to_name, maxSubmissions="1")
    else:
        choice = "multiple" if campaign.task_type == Campaign.TaskType.MULTI_CHOICE else "single"
        choices = ElementTree.SubElement(view, "Choices", name=layout.control, toName=layout.to_name, choice=choice)
        for label in campaign.labels:
            attributes = {"value": str(label["value"])}
            if label.get("text") and label["text"] != label["value"]:
                attributes["hint"] = str(label["text"])
            ElementTree.SubElement(choices, "Choice", attributes)
    ElementTree.indent(view)
    return ElementTree.tostring(view, encoding="unicode") + "\n"


def _result(label: Any, task_type: str, layout: Layout) -> list[dict[str, Any]]:
    if task_type == Campaign.TaskType.FREE_TEXT:
        kind, value = "textarea", {"text": [str(label)]}
    else:
        kind, value = "choices", {"choices": [str(v) for v in label] if isinstance(label, list) else [str(label)]}
    return [{"from_name": layout.control, "to_name": layout.to_name, "type": kind, "value": value}]


@dataclass(frozen=True)
class ExportContext:
    campaign: Campaign
    layout: Layout
    run_id: int | None  # the aggregation run whose labels are exported; None before the first one


def run_model_version(campaign_id: int, run_id: int | None) -> str:
    return f"{AGGREGATION_MODEL}:campaign-{campaign_id}:run-{run_id if run_id is not None else 'none'}"


def labelstudio_task(
    item: Item, context: ExportContext, *, answers: list[Answer] | None = None, decided_by: str | None = None
) -> dict[str, Any]:
    """One item as a Label Studio task (see the module docstring for why each part is where it is)."""
    task_type, layout = context.campaign.task_type, context.layout
    predictions: list[dict[str, Any]] = []
    if item.prelabel is not None:
        prelabel: dict[str, Any] = {
            "model_version": item.prelabel_model,
            "result": _result(item.prelabel, task_type, layout),
        }
        if item.prelabel_score is not None:
            prelabel["score"] = item.prelabel_score
        predictions.append(prelabel)
    if item.gold is None and item.result_label is not None:
        aggregated = {
            "model_version": run_model_version(context.campaign.id, context.run_id),
            "result": _result(item.result_label, task_type, layout),
        }
        if item.confidence is not None:
            aggregated["score"] = item.confidence
        predictions.append(aggregated)
    annotations: list[dict[str, Any]] = []
    if item.gold is not None:
        annotations.append(
            {"result": _result(item.gold, task_type, layout), "ground_truth": True, "was_cancelled": False}
        )
    for answer in answers or ():
        annotations.append(
            {
                "result": _result(answer.label, task_type, layout),
                "ground_truth": False,
                "was_cancelled": False,
                "lead_time": answer.seconds_on_task,
                "created_at": answer.created_at.isoformat(),
            }
        )
    meta = {
        "item": item.id,
        "campaign": context.campaign.id,
        "external_id": item.external_id,
        "language": item.language,
        "status": item.status,
        "answers": item.answer_count,
        "votes": item.votes,
        "confidence": item.confidence,
        "gold": item.gold is not None,
        "decided_by": decided_by,
    }
    return {
        "data": {**item.data, "external_id": item.external_id},
        "annotations": annotations,
        "predictions": predictions,
        "meta": {"crowdloop": meta},
    }


# --- Reads (the caller has already checked the campaign is the reader's) ---------------------------------------


def campaign_data_keys(campaign: Campaign) -> list[str]:
    """Every key any of the campaign's items has in `data`: one scan of the campaign's items, once an export."""
    if connection.vendor == "postgresql":
        sql = "SELECT DISTINCT jsonb_object_keys(data) FROM crowd_item WHERE campaign_id = %s"
    else:
        sql = "SELECT DISTINCT j.key FROM crowd_item, json_each(crowd_item.data) j WHERE crowd_item.campaign_id = %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [campaign.id])
        return sorted(row[0] for row in cursor.fetchall())


def export_context(campaign: Campaign) -> ExportContext:
    run_id = (
        AggregationRun.objects.filter(campaign=campaign, status=AggregationRun.Status.FINISHED)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    return ExportContext(campaign=campaign, layout=layout_for(campaign_data_keys(campaign)), run_id=run_id)


def labelstudio_tasks(campaign: Campaign, *, with_answers: bool, chunk_size: int = 2000) -> Iterator[dict[str, Any]]:
    """Every item of the campaign, gold included, as a task; with its raw answers when asked. Items are read in
    id-ordered chunks, each chunk's answers in one query, so memory stays flat however big the campaign."""
    context = export_context(campaign)
    after_id = 0
    while True:
        chunk = list(
            Item.objects.filter(campaign=campaign, id__gt=after_id)
            .select_related("expert_by")
            .order_by("id")[:chunk_size]
        )
        if not chunk:
            return
        by_item: dict[int, list[Answer]] = {}
        if with_answers:
            answers = Answer.objects.filter(campaign=campaign, item_id__in=[item.id for item in chunk]).order_by("id")
            for answer in answers:
                by_item.setdefault(answer.item_id, []).append(answer)
        for item in chunk:
            yield labelstudio_task(item, context, answers=by_item.get(item.id), decided_by=decided_by(item))
        after_id = chunk[-1].id


def export_labelstudio(campaign: Campaign, *, with_answers: bool = False) -> Iterator[str]:
    """The tasks as one JSON array, streamed."""
    return json_array(labelstudio_tasks(campaign, with_answers=with_answers))


def export_labelstudio_config(campaign: Campaign) -> str:
    return labelstudio_config(campaign, export_context(campaign).layout)
