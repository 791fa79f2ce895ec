"""Streamed result exports: CSV, JSONL and JSON, one row at a time (memory flat); Label Studio's tasks and
labeling config are `crowd/exports_labelstudio.py`."""

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from config.spreadsheet import spreadsheet_text
from crowd.models import Item

FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "jsonl": ("application/x-ndjson", "jsonl"),
    "json": ("application/json", "json"),
    "labelstudio": ("application/json", "json"),
    "labelstudio-config": ("application/xml; charset=utf-8", "xml"),
}
CSV_COLUMNS = [
    "item",
    "external_id",
    "label",
    "confidence",
    "answers",
    "status",
    "votes",
    "language",
    "data",
    "decided_by",
    "accepted_on_model",
]


def decided_by(item: Item) -> str | None:
    """Who set the item's final label (a member of the organization, by email, else user name), or None when the
    label is the crowd's."""
    if item.expert_label is None:
        return None
    user = item.expert_by
    return (user.email or user.get_username()) if user is not None else "(deleted account)"


def _row(item: Item) -> dict[str, Any]:
    return {
        "item": item.id,
        "external_id": item.external_id,
        "label": item.result_label,
        "confidence": item.confidence,
        "answers": item.answer_count,
        "status": item.status,
        "votes": item.votes,
        "language": item.language,
        "data": item.data,
        "decided_by": decided_by(item),
        "accepted_on_model": item.accepted_model or None,
    }


def _csv_cell(value: Any) -> Any:
    """Numbers stay numbers; every text cell here (external ids, labels, language) came from people."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return spreadsheet_text(json.dumps(value, ensure_ascii=False, sort_keys=True))
    return spreadsheet_text(value)


def export_csv(items: Iterator[Item]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for item in items:
        writer.writerow([_csv_cell(value) for value in _row(item).values()])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def export_jsonl(items: Iterator[Item]) -> Iterator[str]:
    for item in items:
        yield json.dumps(_row(item), ensure_ascii=False) + "\n"


def json_array(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    yield "["
    for index, row in enumerate(rows):
        yield ("," if index else "") + json.dumps(row, ensure_ascii=False)
    yield "]\n"


def export_json(items: Iterator[Item]) -> Iterator[str]:
    return json_array(_row(item) for item in items)


def export_stream(fmt: str, items: Iterator[Item]) -> Iterator[str]:
    """csv, jsonl or json; Label Studio's formats are `crowd/exports_labelstudio.py`."""
    if fmt == "csv":
        return export_csv(items)
    if fmt == "jsonl":
        return export_jsonl(items)
    return export_json(items)
