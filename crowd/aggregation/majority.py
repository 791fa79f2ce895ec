"""Majority vote over integer-coded answers.

Arrays: `items` and `labels` are int arrays of shape (n_answers,), items in [0, n_items), labels in
[0, n_classes). Tie rule (deterministic, documented): among the most-voted classes the one with the
lowest class index wins, i.e. the label listed first in the campaign's label set.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MajorityResult:
    label: np.ndarray  # (n_items,) winning class index, -1 for items without answers
    confidence: np.ndarray  # (n_items,) winner's share of the votes, 0 for items without answers
    votes: np.ndarray  # (n_items, n_classes) vote counts


def majority_vote(items: np.ndarray, labels: np.ndarray, n_items: int, n_classes: int) -> MajorityResult:
    items = np.asarray(items, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    if items.shape != labels.shape:
        raise ValueError("items and labels must have the same shape")
    if items.size and (items.min() < 0 or items.max() >= n_items or labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError("item or label index out of range")
    votes = np.bincount(items * n_classes + labels, minlength=n_items * n_classes).reshape(n_items, n_classes)
    totals = votes.sum(axis=1)
    winner = votes.argmax(axis=1)  # argmax returns the first maximum: the lowest class index on ties
    confidence = np.divide(
        votes[np.arange(n_items), winner], totals, out=np.zeros(n_items, dtype=np.float64), where=totals > 0
    )
    return MajorityResult(label=np.where(totals > 0, winner, -1), confidence=confidence, votes=votes)
