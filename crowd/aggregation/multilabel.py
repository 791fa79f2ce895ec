"""Multi-label answers ("tick every label that applies"): one binary Dawid-Skene model per label.

Each answer is a set of labels. For label l, every answer is read as a binary vote — 1 if the annotator ticked
l, 0 if they answered the item without ticking it — and an independent two-class Dawid & Skene (1979) model
(JRSS C 28(1):20-28) estimates each annotator's sensitivity and specificity for that label. A label is
selected when its posterior exceeds 0.5 (an exact 0.5 tie goes to class 0, "not selected", the lowest index).

Shapes (n answers, I items, W annotators, L labels):
    items, workers  (n,)    ints in [0, I), [0, W)
    chosen          (n, L)  bool: answer a ticked label l
    gold            (I, L)  1 / 0 known, -1 unknown (optional)
Result: `selected` (I, L) bool, `probability` (I, L) float64 posterior that each label applies (0 for items
without answers unless gold), `per_label` the L binary `AggregationResult`s (class 1 = "applies"), each with
its annotators' 2x2 confusion matrices. Bad input raises AggregationInputError.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from crowd.aggregation.dawid_skene import AggregationInputError, AggregationResult, dawid_skene
from crowd.aggregation.one_coin import one_coin

METHODS = {"ds": dawid_skene, "onecoin": one_coin}


@dataclass(frozen=True, eq=False)
class MultiLabelResult:
    selected: np.ndarray  # (I, L) bool
    probability: np.ndarray  # (I, L) float64 posterior that label l applies to item i
    per_label: tuple[AggregationResult, ...]  # (L,) binary results, class 1 = "applies"


def label_sets_to_matrix(answers: Iterable[Iterable[str]], label_values: Sequence[str]) -> np.ndarray:
    """(n, L) bool matrix from one collection of label values per answer; unknown values raise."""
    column = {value: j for j, value in enumerate(label_values)}
    rows = list(answers)
    matrix = np.zeros((len(rows), len(column)), dtype=bool)
    for a, chosen in enumerate(rows):
        for value in chosen:
            if value not in column:
                raise AggregationInputError(f"answer {a} ticks {value!r}, which is not in the label set")
            matrix[a, column[value]] = True
    return matrix


def multilabel(
    items, workers, chosen, n_items: int, n_workers: int, *, gold=None, method: str = "ds", **options
) -> MultiLabelResult:
    """One binary `dawid_skene` (or `one_coin`, method="onecoin") per label; options go to each run."""
    if method not in METHODS:
        raise AggregationInputError(f"method must be one of {sorted(METHODS)}, got {method!r}")
    chosen = np.asarray(chosen)
    if chosen.ndim != 2 or chosen.dtype != bool:
        raise AggregationInputError(
            f"chosen must be a 2-D bool array (answers x labels), got {chosen.dtype} {chosen.shape}"
        )
    n_labels = chosen.shape[1]
    if chosen.shape[0] != np.shape(items)[0]:
        raise AggregationInputError(f"chosen has {chosen.shape[0]} rows for {np.shape(items)[0]} answers")
    if gold is not None:
        gold = np.asarray(gold)
        if gold.shape != (n_items, n_labels):
            raise AggregationInputError(f"gold must have shape ({n_items}, {n_labels}), got {gold.shape}")
    runs = []
    for j in range(n_labels):  # one model per label (L is the size of the label set, not of the data)
        runs.append(
            METHODS[method](
                items,
                workers,
                chosen[:, j].astype(np.intp),
                n_items,
                n_workers,
                2,
                gold=None if gold is None else gold[:, j],
                **options,
            )
        )
    probability = np.zeros((n_items, n_labels))
    for j, run in enumerate(runs):
        probability[:, j] = np.where(run.label >= 0, run.posterior[:, 1], 0.0)
    return MultiLabelResult(selected=probability > 0.5, probability=probability, per_label=tuple(runs))
