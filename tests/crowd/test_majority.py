"""Majority vote over integer-coded answers (pure NumPy, no database)."""

import numpy as np
import pytest

from crowd.aggregation.majority import majority_vote


def test_majority_vote_counts_and_confidence():
    # item 0: 0,0,1   item 1: 2,2,2,1   item 2: 1
    items = np.array([0, 0, 0, 1, 1, 1, 1, 2])
    labels = np.array([0, 0, 1, 2, 2, 2, 1, 1])

    result = majority_vote(items, labels, n_items=3, n_classes=3)

    assert result.votes.tolist() == [[2, 1, 0], [0, 1, 3], [0, 1, 0]]
    assert result.label.tolist() == [0, 2, 1]
    assert result.confidence == pytest.approx([2 / 3, 3 / 4, 1.0])
    assert result.votes.shape == (3, 3)
    assert result.label.dtype.kind == "i"


def test_majority_vote_answer_order_does_not_matter():
    rng = np.random.default_rng(7)
    items = rng.integers(0, 50, size=1000)
    labels = rng.integers(0, 4, size=1000)
    order = rng.permutation(1000)

    a = majority_vote(items, labels, 50, 4)
    b = majority_vote(items[order], labels[order], 50, 4)

    assert np.array_equal(a.votes, b.votes)
    assert np.array_equal(a.label, b.label)
    assert np.allclose(a.confidence, b.confidence)
    assert a.votes.sum() == 1000


def test_majority_vote_tie_goes_to_the_lowest_class_index():
    items = np.array([0, 0, 1, 1, 1, 1, 2, 2, 2])
    labels = np.array([2, 1, 3, 0, 3, 0, 2, 1, 0])

    result = majority_vote(items, labels, n_items=3, n_classes=4)

    assert result.label.tolist() == [1, 0, 0]
    assert result.confidence == pytest.approx([0.5, 0.5, 1 / 3])


def test_majority_vote_items_without_answers():
    result = majority_vote(np.array([1, 1]), np.array([1, 1]), n_items=3, n_classes=2)

    assert result.label.tolist() == [-1, 1, -1]
    assert result.confidence.tolist() == [0.0, 1.0, 0.0]
    assert result.votes.tolist() == [[0, 0], [0, 2], [0, 0]]


def test_majority_vote_no_answers_at_all():
    result = majority_vote(np.array([], dtype=np.int64), np.array([], dtype=np.int64), n_items=2, n_classes=3)

    assert result.label.tolist() == [-1, -1]
    assert result.confidence.tolist() == [0.0, 0.0]
    assert result.votes.shape == (2, 3) and not result.votes.any()


def test_majority_vote_accepts_lists():
    result = majority_vote([0, 0, 0], [1, 1, 0], 1, 2)

    assert result.label.tolist() == [1]


@pytest.mark.parametrize(
    ("items", "labels", "n_items", "n_classes"),
    [
        ([0, 1], [0], 2, 2),  # shapes differ
        ([[0, 1]], [0, 1], 2, 2),  # 2-D against 1-D
        ([0, 2], [0, 1], 2, 2),  # item index too large
        ([0, -1], [0, 1], 2, 2),  # negative item
        ([0, 1], [0, 2], 2, 2),  # label index too large
        ([0, 1], [-1, 0], 2, 2),  # negative label
    ],
)
def test_majority_vote_bad_shapes_and_indices_are_refused(items, labels, n_items, n_classes):
    with pytest.raises(ValueError):
        majority_vote(np.array(items), np.array(labels), n_items, n_classes)
