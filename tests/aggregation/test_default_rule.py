"""The default Dawid-Skene against plain maximum likelihood: the accuracy rule, and the pooling behind it.

Rule (DESIGN.md): with its default settings our Dawid-Skene is never more than 0.005 below plain
maximum-likelihood Dawid-Skene (crowd-kit's estimator, `PLAIN_ML`). Judged on seeded synthetic crowds built to
differ from the shared datasets (bench/synthetic.py) and, in test_datasets.py, on the shared datasets.
"""

import numpy as np
import pytest

from crowd.aggregation.dawid_skene import PLAIN_ML, AggregationInputError, dawid_skene
from crowd.aggregation.sparse import pool_sparse
from tests.aggregation.data import synthetic

MARGIN = 0.005
HARD_KINDS = ("five-class-180", "one-answer-workers", "adversarial", "imbalanced-five", "eight-classes", "mix")


def accuracies(crowd) -> tuple[float, float]:
    shape = (crowd.truth.size, crowd.confusion.shape[0], crowd.confusion.shape[1])
    default = dawid_skene(crowd.items, crowd.workers, crowd.labels, *shape)
    plain = dawid_skene(crowd.items, crowd.workers, crowd.labels, *shape, **PLAIN_ML)
    return float((default.label == crowd.truth).mean()), float((plain.label == crowd.truth).mean())


@pytest.mark.parametrize("name", HARD_KINDS)
def test_default_is_never_more_than_the_margin_below_plain_maximum_likelihood(name):
    module = synthetic()
    seed = HARD_KINDS.index(name)  # a different seed per kind; bench/aggregation.py runs a range of seeds each

    default, plain = accuracies(module.scenario_crowd(module.SCENARIOS[name], seed))

    assert default >= plain - MARGIN, f"{name}/{seed}: default {default:.4f} < plain ML {plain:.4f} - {MARGIN}"


def test_default_beats_plain_maximum_likelihood_where_workers_answer_once():
    module = synthetic()
    crowd = module.scenario_crowd(module.SCENARIOS["one-answer-workers"], 3)

    default, plain = accuracies(crowd)

    assert default > plain + 0.05  # plain ML ignores one-answer workers: a single answer fits any matrix


def test_pool_sparse_shares_only_annotators_below_the_threshold():
    workers = np.array([0, 0, 0, 1, 2, 2, 3, 0])  # answers: 4, 1, 2, 1, and annotator 4 has none

    pooling = pool_sparse(workers, 5, 3)

    assert pooling.shared.tolist() == [False, True, True, True, True]
    assert pooling.n_pooled == 2 and pooling.codes.tolist() == [0, 1, 1, 1, 1]
    assert pooling.workers(workers).tolist() == [0, 0, 0, 1, 1, 1, 1, 0]
    assert pool_sparse(workers, 5, 2) is not None  # annotators 1 and 3 share
    assert pool_sparse(workers, 5, 1) is None and pool_sparse(workers, 4, 0) is None
    assert pool_sparse(np.array([0, 0, 1]), 2, 2) is None  # one sparse annotator alone: nothing to share


def test_pooled_annotators_get_one_matrix_and_keep_their_own_answer_counts():
    module = synthetic()
    crowd = module.scenario_crowd(module.SCENARIOS["one-answer-workers"], 0)
    shape = (crowd.truth.size, crowd.confusion.shape[0], crowd.confusion.shape[1])
    answers = np.bincount(crowd.workers, minlength=shape[1])

    result = dawid_skene(crowd.items, crowd.workers, crowd.labels, *shape)

    assert result.confusion.shape == (shape[1], shape[2], shape[2]) and np.array_equal(result.answers, answers)
    sparse = np.flatnonzero(answers < 2)
    assert sparse.size > 1000
    np.testing.assert_array_equal(
        result.confusion[sparse], np.broadcast_to(result.confusion[sparse[0]], (sparse.size, 4, 4))
    )
    np.testing.assert_allclose(result.accuracy, np.einsum("wcc,c->w", result.confusion, result.prior))
    dense = np.flatnonzero(answers >= 2)
    assert not any(np.array_equal(result.confusion[w], result.confusion[sparse[0]]) for w in dense)


def test_without_sparse_annotators_the_default_fit_is_plain_maximum_likelihood():
    module = synthetic()
    crowd = module.scenario_crowd(module.SCENARIOS["few-dense-workers"], 0)
    shape = (crowd.truth.size, crowd.confusion.shape[0], crowd.confusion.shape[1])
    assert np.bincount(crowd.workers).min() >= 2

    default = dawid_skene(crowd.items, crowd.workers, crowd.labels, *shape, max_iter=100, tol=0, confidence_smoothing=0)
    plain = dawid_skene(crowd.items, crowd.workers, crowd.labels, *shape, **PLAIN_ML)

    np.testing.assert_array_equal(default.posterior, plain.posterior)
    np.testing.assert_array_equal(default.confusion, plain.confusion)


def test_pooling_accepts_a_warm_start_of_the_previous_annotators():
    items = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 5])
    workers = np.array([0, 1, 0, 1, 0, 1, 0, 1, 2, 3])  # 2 and 3 answered once: they share a matrix
    labels = np.array([0, 0, 1, 1, 0, 0, 1, 1, 0, 1])
    first = dawid_skene(items[:8], workers[:8], labels[:8], 6, 2, 2)

    warm = dawid_skene(items, workers, labels, 6, 4, 2, init_confusion=first.confusion, init_prior=first.prior)

    assert warm.confusion.shape == (4, 2, 2) and np.array_equal(warm.confusion[2], warm.confusion[3])
    assert warm.answers.tolist() == [4, 4, 1, 1]
    assert warm.label[:4].tolist() == [0, 1, 0, 1]


@pytest.mark.parametrize("value", [-1, 1.5, "2", None])
def test_bad_pool_below_is_refused(value):
    with pytest.raises(AggregationInputError, match="pool_below"):
        dawid_skene([0, 1], [0, 1], [0, 1], 2, 2, 2, pool_below=value)


def test_confidences_come_from_the_cautious_fit_and_labels_from_maximum_likelihood():
    # Three workers, three items: t0 pos/pos/neg, t1 neg/neg/neg, t2 pos/neg/pos (class 0 = pos).
    items, workers = np.tile([0, 1, 2], 3), np.repeat([0, 1, 2], 3)
    labels = np.array([0, 1, 0, 0, 1, 1, 1, 1, 0])

    fit = dawid_skene(items, workers, labels, 3, 3, 2, confidence_smoothing=0)
    result = dawid_skene(items, workers, labels, 3, 3, 2)

    assert (fit.confidence > 0.9999).all()  # maximum likelihood alone: certain of everything
    assert np.array_equal(result.label, fit.label) and result.label.tolist() == [0, 1, 0]
    assert 0.5 < result.confidence[0] < result.confidence[1] < 0.9  # a split vote is less sure than unanimity
    np.testing.assert_allclose(result.confidence, result.posterior[np.arange(3), result.label])
    assert (result.confusion > 0).all() and (result.accuracy < 1).all()


def test_a_single_answer_is_not_a_certainty():
    result = dawid_skene([0], [0], [1], 1, 1, 2)

    assert result.label.tolist() == [1] and 0.5 <= result.confidence[0] < 1.0
