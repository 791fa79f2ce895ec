"""Input checks shared by the aggregation cores (pure NumPy): each error names the first offending value."""

import numpy as np


class AggregationInputError(ValueError):
    """Bad arrays or options given to an aggregation function; the message names the first offending value."""


def as_index_array(name: str, values, upper: int) -> np.ndarray:
    """1-D intp array with every value in [0, upper), or AggregationInputError naming the first bad position."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise AggregationInputError(f"{name} must be a 1-D array, got shape {array.shape}")
    if array.size == 0:
        return np.zeros(0, dtype=np.intp)
    if array.dtype.kind not in "iu":
        raise AggregationInputError(f"{name} must hold integers, got dtype {array.dtype}")
    bad = np.flatnonzero((array < 0) | (array >= upper))
    if bad.size:
        raise AggregationInputError(f"{name}[{bad[0]}] = {array[bad[0]]} is outside [0, {upper})")
    return array.astype(np.intp, copy=False)


def check_answers(items, workers, labels, n_items: int, n_workers: int, n_classes: int):
    for name, value in (("n_items", n_items), ("n_workers", n_workers), ("n_classes", n_classes)):
        if not isinstance(value, int | np.integer) or value < 0:
            raise AggregationInputError(f"{name} must be a non-negative integer, got {value!r}")
    if n_classes < 1:
        raise AggregationInputError("n_classes must be at least 1 (an empty label set cannot be aggregated)")
    items = as_index_array("items", items, n_items)
    workers = as_index_array("workers", workers, n_workers)
    labels = as_index_array("labels", labels, n_classes)
    if not items.shape == workers.shape == labels.shape:
        raise AggregationInputError(
            f"items, workers and labels must have the same length, got {items.size}, {workers.size}, {labels.size}"
        )
    return items, workers, labels


def check_gold(gold, n_items: int, n_classes: int) -> np.ndarray:
    """(I,) int64 with -1 for unknown; accepts None."""
    if gold is None:
        return np.full(n_items, -1, dtype=np.int64)
    gold = np.asarray(gold)
    if gold.shape != (n_items,):
        raise AggregationInputError(f"gold must have shape ({n_items},) with -1 for unknown items, got {gold.shape}")
    if gold.size and gold.dtype.kind not in "iu":
        raise AggregationInputError(f"gold must hold integers, got dtype {gold.dtype}")
    bad = np.flatnonzero((gold < -1) | (gold >= n_classes))
    if bad.size:
        raise AggregationInputError(f"gold[{bad[0]}] = {gold[bad[0]]} is outside [0, {n_classes}) and not -1")
    return gold.astype(np.int64)
