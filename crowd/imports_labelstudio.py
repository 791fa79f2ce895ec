"""Label Studio exports (JSON, JSON_MIN, CSV) read into Crowdloop import rows.

Pure: no database and no models of its own. Rows come out in the shape `crowd.services.imports` validates
(`external_id`, `data`, optional `gold` and `prelabel`), so a Label Studio file goes through the same checks as
any other import. Two keys are not fields and the caller must pop them before validation:

- `"__error__"` (`ERROR_KEY`): a `RowError`; the task could not be converted and the import must fail on it.
- `"__note__"` (`NOTE_KEY`): a sentence saying why a trusted task got no gold (its annotations disagree). The row
  is valid without it; the importer rejects unknown keys, so leaving it in would fail the import.

One row per Label Studio task. In JSON_MIN and CSV a task annotated twice appears twice: its records are joined
back into one row, so an importer's row numbers count tasks, not lines; messages name Label Studio's task id.
Error and note messages are in the language active when the rows are read (the preview page shows them).

Labels: `choices` give the chosen values; `taxonomy` the last element of each chosen path; `textarea` its first
non-blank text (free_text only). `labels` (spans), `rating` and other results are not classifications and are
never read as labels. For single_choice a result with several choices is passed on as a list on purpose: the
import's validation rejects it as "not one label", naming the field, rather than this module silently picking
one. An annotation without a result for the control tag casts no vote (also for multi_choice: Label Studio
writes no result when nothing is chosen, which cannot be told apart from a skipped question).
"""

import json
import math
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, groupby
from typing import Any

from django.utils.translation import gettext as _

from crowd.labels import RowError, label_key

ERROR_KEY = "__error__"
NOTE_KEY = "__note__"
ANNOTATIONS_MODEL = "labelstudio-annotations"
PREDICTION_MODEL = "labelstudio-prediction"
# Crowdloop's export writes its aggregated labels as predictions of this model (`crowd/exports_labelstudio.py`):
# another campaign's results, never read back as a model's pre-label.
AGGREGATION_MODEL = "crowdloop-aggregation"

SINGLE_CHOICE, MULTI_CHOICE, FREE_TEXT = "single_choice", "multi_choice", "free_text"
TASK_TYPES = frozenset({SINGLE_CHOICE, MULTI_CHOICE, FREE_TEXT})

# Keys only Label Studio's full task objects have; a Crowdloop row has none of them ("id" is an unknown field there).
TASK_KEYS = frozenset(
    {
        "id",
        "annotations",
        "predictions",
        "drafts",
        "meta",
        "allow_skip",
        "inner_id",
        "total_annotations",
        "cancelled_annotations",
        "total_predictions",
        "project",
        "file_upload",
        "updated_by",
    }
)
# What JSON_MIN and CSV add to a task's data on every record: Label Studio's bookkeeping, never item data.
FLAT_BOOKKEEPING = frozenset(
    {"id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time", "agreement", "history"}
)
CHOICE_RESULTS = frozenset({"choices", "taxonomy"})
TEXT_RESULTS = frozenset({"textarea"})
# The keys of a result value that carry a classification, and the result kind each means.
VALUE_KINDS = {"choices": "choice", "taxonomy": "choice", "text": "text"}


@dataclass(frozen=True)
class _Vote:
    """One annotation's label for the control tag."""

    label: Any
    ground_truth: bool = False
    score: float | None = None  # the result's own score: Crowdloop's export writes its confidence there


@dataclass(frozen=True)
class _Guess:
    """One prediction's label for the control tag."""

    label: Any
    model: str
    score: float | None


# --- Detection -------------------------------------------------------------------------------------------------


def _has_flat_columns(names: Collection[str]) -> bool:
    return "annotation_id" in names or ("annotator" in names and "lead_time" in names)


def is_labelstudio_task(obj: Any) -> bool:
    """A task of Label Studio's JSON export (or Crowdloop's own Label Studio export): `data` plus its bookkeeping."""
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("data"), dict)
        and not TASK_KEYS.isdisjoint(obj)
        and not _has_flat_columns(obj)
    )


def is_labelstudio_min(obj: Any) -> bool:
    """A record of Label Studio's JSON_MIN export: the task's data flat, plus its annotation's bookkeeping."""
    return isinstance(obj, dict) and _has_flat_columns(obj)


def is_labelstudio_csv(fieldnames: Iterable[str] | None) -> bool:
    """A header of Label Studio's CSV export (its annotation columns), as csv.DictReader.fieldnames gives it."""
    return fieldnames is not None and _has_flat_columns(set(fieldnames))


# --- Values to labels ------------------------------------------------------------------------------------------


def _check_task_type(task_type: str) -> None:
    if task_type not in TASK_TYPES:
        raise ValueError(f"Unknown task type {task_type!r}.")


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RowError(where, _("Must be a list of texts."))
    return value


def _taxonomy_leaves(value: Any, where: str) -> list[str]:
    """Each chosen path (["Animal", "Cat"]) stands for its last, most specific element."""
    if not isinstance(value, list) or not all(isinstance(path, list) for path in value):
        raise RowError(where, _("A taxonomy must be a list of paths."))
    return [path[-1] for path in value if _strings(path, where)]


def _choice_label(choices: list[str], task_type: str, where: str) -> Any:
    if task_type == FREE_TEXT:
        raise RowError(where, _("Holds choices; a free_text campaign reads a TextArea tag."))
    if not choices:
        return None
    if task_type == MULTI_CHOICE:
        return list(dict.fromkeys(choices))
    # Several choices are no single label: passed on as a list, validation rejects it naming the field.
    return choices[0] if len(choices) == 1 else list(choices)


def _text_label(text: Any, task_type: str, where: str) -> str | None:
    if task_type != FREE_TEXT:
        raise RowError(where, _("Holds text; a choice campaign reads a Choices or Taxonomy tag."))
    # A list, always: a bare string under "text" is a span's quoted text (a Labels result), not an answer.
    texts = _strings(text, where)
    return next((t for t in texts if t.strip()), None)


def _value_label(value: Any, task_type: str, where: str) -> Any:
    """The label a result's value holds for this task type; None when nothing was chosen or written."""
    if not isinstance(value, dict):
        raise RowError(where, _("A result's value must be an object."))
    if "choices" in value:
        return _choice_label(_strings(value["choices"], where), task_type, where)
    if "taxonomy" in value:
        return _choice_label(_taxonomy_leaves(value["taxonomy"], where), task_type, where)
    if "text" in value:
        return _text_label(value["text"], task_type, where)
    raise RowError(
        where,
        _("Holds %(keys)s: not choices, taxonomy or text.") % {"keys": ", ".join(sorted(map(str, value))[:4])},
    )


def _plain_label(text: str, task_type: str) -> Any:
    """A bare cell of JSON_MIN or CSV: one choice, or the text itself."""
    if not text.strip():
        return None
    return [text] if task_type == MULTI_CHOICE else text


def _score(value: Any) -> float | None:
    """A model's score clamped to 0..1 (some write percentages); None when there is no usable number."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return None
    return min(max(float(value), 0.0), 1.0)


# --- Votes to a row --------------------------------------------------------------------------------------------


def _tally(votes: list[_Vote], task_type: str) -> list[list[_Vote]]:
    """Votes grouped by label (as Crowdloop compares labels), in order of first appearance."""
    groups: dict[str, list[_Vote]] = {}
    for vote in votes:
        groups.setdefault(label_key(vote.label, task_type), []).append(vote)
    return list(groups.values())


def _describe(groups: list[list[_Vote]]) -> str:
    def shown(label: Any) -> str:
        text = "+".join(label) if isinstance(label, list) else str(label)
        return repr(text if len(text) <= 40 else text[:39] + "…")

    return ", ".join(f"{shown(group[0].label)} {len(group)}x" for group in groups)


def _gold(pool: list[_Vote], task_type: str) -> tuple[Any, str | None]:
    """(the label all agree on, None) or (None, why there is none)."""
    groups = _tally(pool, task_type)
    if len(groups) == 1:
        return groups[0][0].label, None
    votes = {"votes": _describe(groups)}
    if pool[0].ground_truth:
        return None, _("Ground-truth annotations disagree (%(votes)s): no gold taken.") % votes
    return None, _("Annotations disagree (%(votes)s): no gold taken.") % votes


def _majority(pool: list[_Vote], task_type: str) -> dict[str, Any]:
    """The most common label (the first seen on a tie), scored by the share agreeing with it; a score the
    results carry themselves caps it, so a re-imported aggregate never claims more than its own confidence."""
    winners = max(_tally(pool, task_type), key=len)
    scores = [vote.score for vote in winners if vote.score is not None]
    return {"label": winners[0].label, "model": ANNOTATIONS_MODEL, "score": min([len(winners) / len(pool), *scores])}


def _best_guess(guesses: list[_Guess]) -> dict[str, Any]:
    """The highest-scored prediction (unscored ones last, the first on a tie)."""
    best = max(guesses, key=lambda guess: -1.0 if guess.score is None else guess.score)
    prelabel: dict[str, Any] = {"label": best.label, "model": best.model}
    if best.score is not None:
        prelabel["score"] = best.score
    return prelabel


def _row(
    external_id: str, data: dict[str, Any], votes: list[_Vote], guesses: list[_Guess], *, task_type: str, trusted: bool
) -> dict[str, Any]:
    """Ground-truth annotations outrank the others. Trusted: their agreed label is the gold, and predictions may
    still pre-label. Untrusted: people's majority is the pre-label, preferred over any model's prediction."""
    row: dict[str, Any] = {"external_id": external_id, "data": data}
    pool = [vote for vote in votes if vote.ground_truth] or votes
    if pool and trusted:
        gold, note = _gold(pool, task_type)
        if note:
            row[NOTE_KEY] = note
        else:
            row["gold"] = gold
    elif pool:
        row["prelabel"] = _majority(pool, task_type)
    if "prelabel" not in row and guesses:
        row["prelabel"] = _best_guess(guesses)
    return row


def _external_id(*sources: tuple[str, Any]) -> str:
    """The first present of (field, value): a text or an integer, as text."""
    for field, value in sources:
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            raise RowError(field, _("An external id must be text or a whole number."))
        return value.strip()
    raise RowError("external_id", _("The task has no id (data.external_id, meta.external_id or id)."))


def _in_task(task_id: Any, exc: RowError) -> dict[str, Any]:
    """An error row naming Label Studio's task id: row numbers count tasks, which few people count by hand."""
    if task_id in (None, ""):
        return {ERROR_KEY: RowError(exc.field, exc.message)}
    message = _("Label Studio task %(task)s: %(problem)s") % {"task": task_id, "problem": exc.message}
    return {ERROR_KEY: RowError(exc.field, message)}


def _pick_tag(candidates: set[str], from_name: str | None) -> str | None:
    if from_name is not None:
        return from_name
    if len(candidates) > 1:
        raise RowError(
            "from_name",
            _("Several control tags could hold the label (%(tags)s); choose one.")
            % {"tags": ", ".join(sorted(candidates))},
        )
    return next(iter(candidates), None)


def _consistent(tag: str | None, earlier: str | None) -> str | None:
    """The tag detected on its own for this task, refusing one that differs from earlier tasks' (mixed labels)."""
    if tag is not None and earlier is not None and tag != earlier:
        raise RowError(
            "from_name",
            _("Uses control tag %(tag)s, earlier tasks %(earlier)s; choose one.")
            % {"tag": repr(tag), "earlier": repr(earlier)},
        )
    return earlier or tag


# --- Full JSON tasks -------------------------------------------------------------------------------------------


def _entries(task: dict[str, Any], key: str) -> list[dict[str, Any]]:
    entries = task.get(key) or []
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise RowError(key, _("Must be a list of objects."))
    return entries


def _results(entry: dict[str, Any], where: str) -> list[dict[str, Any]]:
    results = entry.get("result") or []
    if not isinstance(results, list) or not all(isinstance(result, dict) for result in results):
        raise RowError(where, _("A result must be a list of objects."))
    return results


def _result_kind(result: dict[str, Any]) -> str | None:
    """ "choice", "text" or None (spans, ratings, regions…), from the result's type or else its value."""
    kind = str(result.get("type") or "").lower()
    if kind:
        return "choice" if kind in CHOICE_RESULTS else "text" if kind in TEXT_RESULTS else None
    value = result.get("value")
    return next((VALUE_KINDS[key] for key in VALUE_KINDS if isinstance(value, dict) and key in value), None)


def _label_tags(results: Iterable[dict[str, Any]], task_type: str) -> set[str]:
    """The control tags whose results could be this campaign's label."""
    wanted = "text" if task_type == FREE_TEXT else "choice"
    return {str(result.get("from_name")) for result in results if _result_kind(result) == wanted}


def _tag_label(results: list[dict[str, Any]], tag: str, task_type: str, where: str) -> tuple[Any, float | None]:
    """(label, the result's score) of the tag in one annotation or prediction; (None, None) without a result."""
    mine = [result for result in results if str(result.get("from_name")) == tag]
    if not mine:
        return None, None
    if len(mine) > 1:
        raise RowError(
            where,
            _("Tag %(tag)s has %(count)s results (per-region labels cannot be imported).")
            % {"tag": repr(tag), "count": len(mine)},
        )
    if _result_kind(mine[0]) is None:
        raise RowError(
            where,
            _("Tag %(tag)s holds %(type)s results, not choices, taxonomy or text.")
            % {"tag": repr(tag), "type": repr(mine[0].get("type"))},
        )
    return _value_label(mine[0].get("value"), task_type, where), _score(mine[0].get("score"))


def _task_row(task: Any, *, task_type: str, trusted: bool, from_name: str | None) -> tuple[dict[str, Any], str | None]:
    """(row, the control tag read); raises RowError."""
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        raise RowError("data", _("A Label Studio task needs a data object."))
    data = dict(task["data"])  # a copy: the caller's task stays as it was
    meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
    external_id = _external_id(
        ("data.external_id", data.pop("external_id", None)),
        ("meta.external_id", meta.get("external_id")),
        ("id", task.get("id")),
    )
    annotations = [
        (f"annotations[{i}].result", _results(entry, f"annotations[{i}].result"), entry)
        for i, entry in enumerate(_entries(task, "annotations"))
        if not (entry.get("was_cancelled") or entry.get("skipped"))  # skipped: the task was not labeled
    ]
    predictions = [
        (f"predictions[{i}].result", _results(entry, f"predictions[{i}].result"), entry)
        for i, entry in enumerate(_entries(task, "predictions"))
    ]
    everything = chain.from_iterable(results for _, results, _ in annotations + predictions)
    tag = _pick_tag(_label_tags(everything, task_type), from_name)
    votes: list[_Vote] = []
    guesses: list[_Guess] = []
    if tag is not None:
        for where, results, entry in annotations:
            label, score = _tag_label(results, tag, task_type, where)
            if label is not None:
                votes.append(_Vote(label, ground_truth=bool(entry.get("ground_truth")), score=score))
        for where, results, entry in predictions:
            if str(entry.get("model_version") or "").startswith(AGGREGATION_MODEL):
                continue
            label, score = _tag_label(results, tag, task_type, where)
            if label is not None:
                model = str(entry.get("model_version") or PREDICTION_MODEL)
                guesses.append(_Guess(label, model, score if score is not None else _score(entry.get("score"))))
    row = _row(external_id, data, votes, guesses, task_type=task_type, trusted=trusted)
    # Crowdloop's own export keeps the item's language here (Label Studio's task format has no place for it).
    crowdloop = meta.get("crowdloop")
    if isinstance(crowdloop, dict) and isinstance(crowdloop.get("language"), str) and crowdloop["language"]:
        row["language"] = crowdloop["language"]
    return row, tag


def task_row(task: Any, *, task_type: str, trusted: bool, from_name: str | None = None) -> dict[str, Any]:
    """One task of Label Studio's JSON export as an import row, or an error row (`ERROR_KEY`).

    `from_name` names the control tag holding the label; None takes the only Choices/Taxonomy (choice campaigns)
    or TextArea (free_text) tag the task's results use, and an error row when there are several.
    External id: `data.external_id` (then removed from data), else `meta.external_id`, else Label Studio's `id`.
    Cancelled annotations are ignored. `trusted`: the annotations' agreed label (the ground-truth ones' if any are
    marked) becomes `gold`; when they disagree there is no gold and `NOTE_KEY` says why. Untrusted: their majority
    becomes the pre-label (model "labelstudio-annotations", score = share agreeing), preferred over predictions
    because people outrank models. Predictions otherwise give the pre-label: the highest-scored, its model
    `model_version` (or "labelstudio-prediction"), its score the result's or else the prediction's, clamped to 0..1;
    Crowdloop's own aggregated labels (`AGGREGATION_MODEL`) are skipped. `meta.crowdloop.language`, which
    Crowdloop's export writes, gives the row's language.
    """
    _check_task_type(task_type)
    try:
        return _task_row(task, task_type=task_type, trusted=trusted, from_name=from_name)[0]
    except RowError as exc:
        return _in_task(task.get("id") if isinstance(task, dict) else None, exc)


def task_rows(
    tasks: Iterable[Any], *, task_type: str, trusted: bool, from_name: str | None = None
) -> Iterator[dict[str, Any]]:
    """`task_row` over a JSON export; with `from_name` None, every task must read the same control tag."""
    _check_task_type(task_type)
    seen_tag: str | None = None
    for task in tasks:
        task_id = task.get("id") if isinstance(task, dict) else None
        if not is_labelstudio_task(task):
            yield _in_task(task_id, RowError("", _("Not a Label Studio task (an object with data and annotations).")))
            continue
        try:
            row, tag = _task_row(task, task_type=task_type, trusted=trusted, from_name=from_name)
            seen_tag = _consistent(tag, seen_tag)
        except RowError as exc:
            yield _in_task(task_id, exc)
            continue
        yield row


# --- JSON_MIN and CSV records ----------------------------------------------------------------------------------


def _decoded(cell: str) -> Any:
    """A CSV cell as Label Studio wrote it: its JSON (`{"choices": [...]}`) when it holds a result, else the text."""
    if not cell.startswith(("{", "[")):
        return cell
    try:
        parsed = json.loads(cell)
    except ValueError:
        return cell
    return parsed if _is_output(parsed) else cell


def _is_output(value: Any) -> bool:
    """A value shaped like a Label Studio result: {"choices"|"text"|"taxonomy": [...]}, or a list of them."""
    if isinstance(value, list):
        return bool(value) and all(isinstance(item, dict) and _is_output(item) for item in value)
    return (
        isinstance(value, dict)
        and len(value) == 1
        and next(iter(value)) in VALUE_KINDS
        and isinstance(next(iter(value.values())), list)
    )


def _cell(record: dict[str, Any], key: str, from_csv: bool) -> Any:
    """A record's value for a key; None when empty, a result value when the cell holds one."""
    value = record.get(key)
    if value is None or value == "":
        return None
    if from_csv and isinstance(value, str):
        value = _decoded(value)
    if isinstance(value, list) and len(value) == 1:
        value = value[0]  # Label Studio wraps a tag's one result in a list unless it is a lone choice or text
    return value


def _fits(value: Any, task_type: str) -> bool:
    """Could this value be the campaign's label? Bare texts could be anything; results say what they are."""
    if isinstance(value, dict):
        kind = VALUE_KINDS.get(next(iter(value), ""))
        return kind == ("text" if task_type == FREE_TEXT else "choice")
    return True


def _output_keys(record: dict[str, Any], from_csv: bool, by_order: bool) -> tuple[set[str], bool]:
    """(the keys holding the annotation's results, whether that is certain).

    JSON_MIN writes the data, then `id`, then one key per control tag, then `annotator`: the keys between those
    two are the results (`by_order`, used only to find an unnamed tag). A key of the task's own data named `id`
    breaks that: its data keys then show up as several candidates and the task is refused, never mislabeled; a
    named tag does not rely on it, so no data is lost. CSV sorts its columns, so only cells shaped like results
    can be told apart from data there."""
    keys = list(record)
    if by_order and "id" in record and "annotator" in record and keys.index("id") < keys.index("annotator"):
        return set(keys[keys.index("id") + 1 : keys.index("annotator")]), True
    return {key for key in keys if key not in FLAT_BOOKKEEPING and _is_output(_cell(record, key, from_csv))}, False


def _annotated(record: dict[str, Any]) -> bool:
    return record.get("annotation_id") not in (None, "")


def _flat_tag(
    group: list[dict[str, Any]], outputs: set[str], certain: bool, task_type: str, earlier: str | None, from_csv: bool
) -> str | None:
    """The control tag of a task's records when the caller named none."""
    cells = {key: [value for r in group if (value := _cell(r, key, from_csv)) is not None] for key in outputs}
    candidates = {key for key, values in cells.items() if any(_fits(value, task_type) for value in values)}
    if len(candidates) > 1:
        raise RowError(
            "from_name",
            _("Several keys could hold the label (%(keys)s); choose one.") % {"keys": ", ".join(sorted(candidates))},
        )
    if candidates:
        return _consistent(next(iter(candidates)), earlier)
    if certain or earlier or not any(_annotated(record) for record in group):
        return earlier
    raise RowError("from_name", _("The export does not say which column holds the annotation; name its control tag."))


def _flat_label(value: Any, task_type: str, tag: str) -> Any:
    if isinstance(value, str):
        return _plain_label(value, task_type)
    if isinstance(value, list):
        raise RowError(
            tag, _("%(count)s results for one tag (per-region labels cannot be imported).") % {"count": len(value)}
        )
    if not _is_output(value):  # spans, ratings, regions
        raise RowError(tag, _("Holds no choices, taxonomy or text."))
    return _value_label(value, task_type, tag)


def _flat_row(
    task_id: str,
    group: list[dict[str, Any]],
    *,
    task_type: str,
    trusted: bool,
    from_name: str | None,
    from_csv: bool,
    ignore: Collection[str],
    earlier: str | None,
) -> tuple[dict[str, Any], str | None]:
    """(row, the control tag read) for one task's consecutive records; raises RowError."""
    if from_csv and any(None in record for record in group):
        raise RowError("", _("More cells than header columns."))
    if not from_csv and not all(is_labelstudio_min(record) for record in group):
        raise RowError("", _("Not a Label Studio JSON_MIN record (it has no annotation_id)."))
    if from_csv and from_name is not None and from_name not in group[0]:
        raise RowError("from_name", _("No column %(column)s.") % {"column": repr(from_name)})
    outputs: set[str] = set()
    certain = True
    for record in group:
        keys, sure = _output_keys(record, from_csv, by_order=not from_csv and from_name is None)
        outputs |= keys
        certain = certain and (sure or not _annotated(record))
    tag = from_name if from_name is not None else _flat_tag(group, outputs, certain, task_type, earlier, from_csv)
    dropped = FLAT_BOOKKEEPING | outputs | set(ignore) | ({tag} if tag else set())
    data = {
        key: value
        for key, value in group[0].items()
        if key not in dropped and not (from_csv and value in ("", None))  # CSV writes absent keys as empty cells
    }
    external_id = _external_id(("external_id", data.pop("external_id", None)), ("id", task_id))
    votes = []
    if tag is not None:
        for record in group:
            value = _cell(record, tag, from_csv)
            label = None if value is None else _flat_label(value, task_type, tag)
            if label is not None:
                votes.append(_Vote(label))
    return _row(external_id, data, votes, [], task_type=task_type, trusted=trusted), tag


def _flat_id(record: Any) -> str | None:
    task_id = record.get("id") if isinstance(record, dict) else None
    if isinstance(task_id, int) and not isinstance(task_id, bool):
        return str(task_id)
    return task_id.strip() if isinstance(task_id, str) and task_id.strip() else None


def flat_rows(
    records: Iterable[Any],
    *,
    task_type: str,
    trusted: bool,
    from_name: str | None = None,
    from_csv: bool = False,
    ignore: Collection[str] = (),
) -> Iterator[dict[str, Any]]:
    """Records of Label Studio's JSON_MIN export, or of its CSV (`from_csv`, csv.DictReader records), as rows.

    Streams: a task's records are consecutive (Label Studio writes them so) and only one task's are held at a
    time, nothing else. A task id met again after other tasks is never regrouped: it becomes a second row with
    the same external id, which the importer rejects as a duplicate (its store finds repeats without holding
    ids in memory, so neither does this). Data: the record's keys less Label Studio's bookkeeping (`id`,
    `annotator`, `annotation_id`, `created_at`, `updated_at`, `lead_time`, `agreement`, `history`), the control
    tag's key, keys holding results and those in `ignore` (e.g. other control tags of a CSV), and in CSV empty
    cells. Cells are kept as written (CSV data cells stay text). External id: `external_id` among the data (then
    removed), else Label Studio's `id`. A task without annotations becomes a plain item.

    `from_name` names the control tag. None: JSON_MIN's key order tells it; CSV only knows it from cells holding
    JSON results (`{"choices": [...]}`), so a CSV of bare choices needs `from_name` (else an error row). Labels,
    gold, notes and pre-labels as in `task_row`; these formats carry no ground-truth flag, no predictions and no
    cancelled annotations (Label Studio leaves those out).
    """
    _check_task_type(task_type)
    seen_tag: str | None = None
    for key, same_task in groupby(records, key=lambda record: _flat_id(record) or object()):
        group = list(same_task)
        if not isinstance(key, str):
            if not isinstance(group[0], dict):
                yield {ERROR_KEY: RowError("", _("Each record must be an object."))}
            else:
                yield {ERROR_KEY: RowError("id", _("Label Studio's task id is missing."))}
            continue
        try:
            row, tag = _flat_row(
                key,
                group,
                task_type=task_type,
                trusted=trusted,
                from_name=from_name,
                from_csv=from_csv,
                ignore=ignore,
                earlier=seen_tag,
            )
        except RowError as exc:
            yield _in_task(key, exc)
            continue
        seen_tag = tag if from_name is None else seen_tag
        yield row


def labelstudio_rows(
    items: Iterable[Any], *, task_type: str, trusted: bool, from_name: str | None = None
) -> Iterator[dict[str, Any]]:
    """A JSON array of either export, told apart by its first object: full tasks (`task_rows`) or JSON_MIN
    records (`flat_rows`). Objects of the other kind further on become error rows."""
    items = iter(items)
    first = next(items, None)
    if first is None:
        return
    everything = chain([first], items)
    if is_labelstudio_min(first):
        yield from flat_rows(everything, task_type=task_type, trusted=trusted, from_name=from_name)
    else:
        yield from task_rows(everything, task_type=task_type, trusted=trusted, from_name=from_name)
