"""Dawid-Skene, one-coin, majority, free-text and multi-label cores (pure NumPy: no database, no Django)."""

import numpy as np
import pytest

from crowd.aggregation.dawid_skene import AggregationInputError, dawid_skene
from crowd.aggregation.free_text import free_text_vote, normalize_text
from crowd.aggregation.majority import majority_vote
from crowd.aggregation.multilabel import label_sets_to_matrix, multilabel
from crowd.aggregation.one_coin import one_coin


def simulate(confusion, prior, n_items, per_item, seed=0):
    """Answers drawn from known confusion matrices: (truth, items, workers, labels), workers distinct per item."""
    rng = np.random.default_rng(seed)
    n_workers, k, _ = confusion.shape
    truth = rng.choice(k, size=n_items, p=prior)
    workers = np.argsort(rng.random((n_items, n_workers)), axis=1)[:, :per_item].ravel()
    items = np.repeat(np.arange(n_items), per_item)
    cumulative = np.cumsum(confusion[workers, truth[items]], axis=1)
    labels = (rng.random(items.size)[:, None] >= cumulative[:, :-1]).sum(axis=1)
    return truth, items, workers, labels


def crowd_matrices(k=3, n_workers=24, seed=1):
    rng = np.random.default_rng(seed)
    confusion = np.empty((n_workers, k, k))
    for w in range(n_workers):
        accuracy = rng.uniform(0.55, 0.9, size=k)
        off = rng.dirichlet(np.ones(k), size=k) * (1 - np.eye(k))
        off /= off.sum(axis=1, keepdims=True)
        confusion[w] = accuracy[:, None] * np.eye(k) + (1 - accuracy)[:, None] * off
    confusion[-3:] = 1.0 / k  # three spammers
    return confusion


def naive_dawid_skene(items, workers, labels, n_items, n_workers, k, iterations, smoothing, prior_smoothing):
    """Textbook loops over answers, for checking the vectorized engine (pooled 'crowd' smoothing target)."""
    posterior = np.zeros((n_items, k))
    for i, label in zip(items, labels, strict=True):
        posterior[i, label] += 1
    posterior /= posterior.sum(axis=1, keepdims=True)
    for _ in range(iterations):
        counts = np.zeros((n_workers, k, k))
        for i, w, label in zip(items, workers, labels, strict=True):
            counts[w, :, label] += posterior[i]
        pooled = counts.sum(axis=0) + 1.0  # the crowd's matrix, itself add-one smoothed
        pooled /= pooled.sum(axis=1, keepdims=True)
        confusion = counts + smoothing * k * pooled
        confusion /= confusion.sum(axis=2, keepdims=True)
        prior = posterior.sum(axis=0) + prior_smoothing
        prior /= prior.sum()
        log_joint = np.tile(np.log(prior), (n_items, 1))
        for i, w, label in zip(items, workers, labels, strict=True):
            log_joint[i] += np.log(confusion[w, :, label])
        top = log_joint.max(axis=1, keepdims=True)
        log_likelihood = float((top[:, 0] + np.log(np.exp(log_joint - top).sum(axis=1))).sum())
        posterior = np.exp(log_joint - top)
        posterior /= posterior.sum(axis=1, keepdims=True)
    return posterior, confusion, prior, log_likelihood


def test_dawid_skene_matches_a_textbook_loop_implementation():
    confusion = crowd_matrices(k=3, n_workers=8)
    _, items, workers, labels = simulate(confusion, [0.5, 0.3, 0.2], n_items=60, per_item=3, seed=4)
    expected = naive_dawid_skene(items, workers, labels, 60, 8, 3, iterations=7, smoothing=0.5, prior_smoothing=1.0)

    result = dawid_skene(
        items, workers, labels, 60, 8, 3, max_iter=7, tol=0, smoothing=0.5, prior_smoothing=1.0, confidence_smoothing=0
    )

    assert result.iterations == 7 and not result.converged
    np.testing.assert_allclose(result.posterior, expected[0], atol=1e-10)
    np.testing.assert_allclose(result.confusion, expected[1], atol=1e-12)
    np.testing.assert_allclose(result.prior, expected[2], atol=1e-12)
    assert result.log_likelihood == pytest.approx(expected[3], rel=1e-12)


def test_dawid_skene_recovers_known_confusion_matrices_and_prior():
    confusion = crowd_matrices(k=3, n_workers=24)
    prior = np.array([0.5, 0.3, 0.2])
    truth, items, workers, labels = simulate(confusion, prior, n_items=6000, per_item=5)

    result = dawid_skene(items, workers, labels, 6000, 24, 3)

    assert result.converged
    np.testing.assert_allclose(result.prior, prior, atol=0.02)
    error = np.abs(result.confusion - confusion)
    assert error.mean() < 0.02 and error.max() < 0.12
    expected_accuracy = np.einsum("wcc,c->w", confusion, prior)
    assert np.abs(result.accuracy - expected_accuracy).max() < 0.04
    assert (result.label == truth).mean() > (majority_vote(items, labels, 6000, 3).label == truth).mean() + 0.02
    assert np.array_equal(result.answers, np.bincount(workers, minlength=24))


def test_dawid_skene_result_shapes_and_invariants():
    confusion = crowd_matrices(k=4, n_workers=10)
    _, items, workers, labels = simulate(confusion, np.full(4, 0.25), n_items=300, per_item=4)

    result = dawid_skene(items, workers, labels, 300, 10, 4)

    assert result.label.shape == result.confidence.shape == (300,)
    assert result.posterior.shape == result.votes.shape == (300, 4)
    assert result.confusion.shape == (10, 4, 4) and result.accuracy.shape == result.answers.shape == (10,)
    assert result.history.shape == (result.iterations,) and result.log_likelihood == result.history[-1]
    np.testing.assert_allclose(result.posterior.sum(axis=1), 1.0)
    np.testing.assert_allclose(result.confusion.sum(axis=2), 1.0)
    assert np.array_equal(result.confidence, result.posterior[np.arange(300), result.label])
    assert np.array_equal(result.votes, majority_vote(items, labels, 300, 4).votes)
    assert result.method == "dawid_skene"
    with pytest.raises(ValueError):
        result.label[0] = 1  # results are read-only


def test_dawid_skene_does_not_depend_on_answer_order():
    confusion = crowd_matrices(k=3, n_workers=12)
    _, items, workers, labels = simulate(confusion, [0.4, 0.4, 0.2], n_items=500, per_item=4)
    order = np.random.default_rng(3).permutation(items.size)

    a = dawid_skene(items, workers, labels, 500, 12, 3, max_iter=30, tol=0)
    b = dawid_skene(items[order], workers[order], labels[order], 500, 12, 3, max_iter=30, tol=0)

    np.testing.assert_allclose(a.posterior, b.posterior, atol=1e-9)
    np.testing.assert_allclose(a.confusion, b.confusion, atol=1e-9)


def test_maximum_likelihood_em_never_lowers_the_likelihood():
    confusion = crowd_matrices(k=3, n_workers=15)
    _, items, workers, labels = simulate(confusion, [0.3, 0.3, 0.4], n_items=800, per_item=3)

    result = dawid_skene(items, workers, labels, 800, 15, 3, smoothing=0, prior_smoothing=0, max_iter=40, tol=0)

    assert (np.diff(result.history) > -1e-6).all()


def test_gold_clamping_pins_gold_items_and_teaches_the_annotators():
    # A majority of "flippers" answer the opposite class 90% of the time: without gold the model settles on
    # the flipped solution; 40 gold items are enough to show who the flippers are.
    confusion = np.empty((10, 2, 2))
    confusion[:7] = [[0.1, 0.9], [0.9, 0.1]]
    confusion[7:] = [[0.85, 0.15], [0.15, 0.85]]
    truth, items, workers, labels = simulate(confusion, [0.5, 0.5], n_items=400, per_item=7, seed=5)
    gold = np.full(400, -1)
    gold[:40] = truth[:40]

    plain = dawid_skene(items, workers, labels, 400, 10, 2)
    clamped = dawid_skene(items, workers, labels, 400, 10, 2, gold=gold)

    rest = slice(40, None)
    assert (plain.label[rest] == truth[rest]).mean() < 0.2
    assert (clamped.label[rest] == truth[rest]).mean() > 0.95
    assert np.array_equal(clamped.label[:40], truth[:40]) and (clamped.confidence[:40] == 1.0).all()
    assert clamped.confusion[:7, 0, 1].min() > 0.75  # flippers' matrices learned from the gold
    assert plain.confusion[:7, 0, 0].min() > 0.75  # ... which the plain run mistook for accuracy


def test_gold_clamping_overrides_a_unanimous_crowd_and_counts_gold_without_answers():
    items, workers, labels = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), np.array([1, 1, 0, 0])
    gold = np.array([0, -1, 2])

    result = dawid_skene(items, workers, labels, 3, 2, 3, gold=gold)

    assert result.label.tolist()[0] == 0 and result.confidence[0] == 1.0
    assert result.label[2] == 2 and result.confidence[2] == 1.0  # gold item without answers
    assert result.posterior[2].tolist() == [0.0, 0.0, 1.0]


def test_warm_start_reaches_the_cold_start_answer_in_fewer_iterations():
    confusion = crowd_matrices(k=3, n_workers=30)
    _, items, workers, labels = simulate(confusion, [0.5, 0.3, 0.2], n_items=4000, per_item=4, seed=7)
    # The first run saw 90% of the answers and only 27 of the annotators; then more answers arrive.
    seen = (np.arange(items.size) < int(0.9 * items.size)) & (workers < 27)
    first = dawid_skene(items[seen], workers[seen], labels[seen], 4000, 27, 3, tol=1e-10, max_iter=500)

    cold = dawid_skene(items, workers, labels, 4000, 30, 3, tol=1e-10, max_iter=500)
    warm = dawid_skene(
        items, workers, labels, 4000, 30, 3, tol=1e-10, max_iter=500, init_confusion=first.confusion,
        init_prior=first.prior,
    )  # fmt: skip

    assert cold.converged and warm.converged
    assert warm.iterations < cold.iterations
    assert np.array_equal(warm.label, cold.label)
    # Maximum likelihood (the default) creeps along flat ridges, so "converged" leaves a little more slack.
    np.testing.assert_allclose(warm.posterior, cold.posterior, atol=1e-3)
    np.testing.assert_allclose(warm.confusion, cold.confusion, atol=1e-2)


def test_warm_start_from_its_own_answer_stops_at_once():
    confusion = crowd_matrices(k=2, n_workers=12)
    _, items, workers, labels = simulate(confusion, [0.6, 0.4], n_items=500, per_item=5)
    # confidence_smoothing=0: the reported matrices are the fit's own (by default they are the cautious fit's)
    done = dawid_skene(items, workers, labels, 500, 12, 2, tol=1e-12, max_iter=1000, confidence_smoothing=0)

    again = dawid_skene(
        items, workers, labels, 500, 12, 2, init_confusion=done.confusion, init_prior=done.prior, confidence_smoothing=0
    )

    assert again.converged and again.iterations == 1
    assert np.array_equal(again.label, done.label)


def test_no_answers_is_a_defined_result():
    result = dawid_skene([], [], [], n_items=3, n_workers=2, n_classes=2, gold=[-1, 1, -1])

    assert result.label.tolist() == [-1, 1, -1]
    assert result.confidence.tolist() == [0.0, 1.0, 0.0]
    assert result.iterations == 0 and result.converged and result.log_likelihood == 0.0
    np.testing.assert_allclose(result.posterior[0], result.prior)
    np.testing.assert_allclose(result.confusion, 0.5)
    assert result.answers.tolist() == [0, 0]


def test_items_without_answers_get_no_label():
    result = dawid_skene([0, 0, 2], [0, 1, 0], [1, 1, 0], n_items=4, n_workers=2, n_classes=2)

    assert result.label.tolist()[1] == -1 and result.label[3] == -1
    assert result.confidence[1] == 0.0
    np.testing.assert_allclose(result.posterior[1], result.prior)
    assert result.label[0] == 1


def test_one_class_and_one_annotator_are_defined_results():
    single = dawid_skene([0, 1, 1], [0, 0, 1], [0, 0, 0], n_items=2, n_workers=2, n_classes=1)
    assert single.label.tolist() == [0, 0] and single.confidence.tolist() == [1.0, 1.0]
    assert single.log_likelihood == 0.0

    labels = np.array([0, 2, 1, 1, 2, 0, 0])
    alone = dawid_skene(np.arange(7), np.zeros(7, dtype=int), labels, n_items=7, n_workers=1, n_classes=3)
    assert np.array_equal(alone.label, labels)  # a lone annotator is simply followed
    assert np.isfinite(alone.confusion).all() and (alone.confusion > 0).all()


def test_smoothing_keeps_sparse_annotators_matrices_proper():
    # Annotator 2 gave one answer: with smoothing its matrix must stay a proper, non-degenerate distribution.
    items = np.array([0, 0, 1, 1, 2, 2, 3])
    workers = np.array([0, 1, 0, 1, 0, 1, 2])
    labels = np.array([0, 0, 1, 1, 0, 0, 1])

    for target in ("crowd", "uniform"):
        result = dawid_skene(items, workers, labels, 4, 3, 2, smoothing=1.0, smoothing_target=target)
        assert (result.confusion[2] > 0.05).all() and (result.confusion[2] < 0.95).all()
        np.testing.assert_allclose(result.confusion.sum(axis=2), 1.0)


def test_posterior_ties_go_to_the_lowest_class_index():
    # Two identical annotators disagree on every item and classes are symmetric: every posterior is a tie.
    items, workers, labels = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), np.array([1, 0, 0, 1])

    result = dawid_skene(items, workers, labels, 2, 2, 2, smoothing_target="uniform")

    np.testing.assert_allclose(result.posterior, 0.5)
    assert result.label.tolist() == [0, 0]


def test_majority_vote_tie_rule_is_the_lowest_class_index():
    result = majority_vote(np.array([0, 0, 0, 0, 1, 1]), np.array([3, 1, 3, 1, 2, 0]), n_items=2, n_classes=4)

    assert result.label.tolist() == [1, 0]
    assert result.confidence.tolist() == [0.5, 0.5]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"labels": [0, 2]}, r"labels\[1\] = 2 is outside \[0, 2\)"),
        ({"labels": [0, -1]}, r"labels\[1\] = -1"),
        ({"items": [0, 5]}, r"items\[1\] = 5 is outside \[0, 3\)"),
        ({"workers": [0, 0, 1]}, "same length"),
        ({"labels": [0.0, 1.0]}, "must hold integers"),
        ({"items": [[0, 1]]}, "1-D"),
        ({"n_classes": 0}, "n_classes must be at least 1"),
        ({"n_items": -1}, "n_items must be a non-negative integer"),
        ({"gold": [0, 1]}, r"gold must have shape \(3,\)"),
        ({"gold": [0, 1, 2]}, r"gold\[2\] = 2"),
        ({"max_iter": 0}, "max_iter"),
        ({"smoothing": -1.0}, "smoothing"),
        ({"tol": float("nan")}, "tol"),
        ({"smoothing_target": "flat"}, "smoothing_target"),
        ({"init_confusion": np.full((3, 2, 2), 0.5)}, "init_confusion must have shape"),
        ({"init_confusion": np.full((1, 3, 3), 0.5)}, "init_confusion must have shape"),
        ({"init_confusion": -np.ones((1, 2, 2))}, "non-negative"),
        ({"init_prior": [1.0, 0.0, 0.0]}, "init_prior"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(kwargs, message):
    arguments = {"items": [0, 1], "workers": [0, 1], "labels": [0, 1], "n_items": 3, "n_workers": 2, "n_classes": 2}
    arguments.update(kwargs)
    options = {key: arguments.pop(key) for key in list(arguments) if key not in ("items", "workers", "labels")}
    positional = [options.pop(name) for name in ("n_items", "n_workers", "n_classes")]

    with pytest.raises(AggregationInputError, match=message):
        dawid_skene(arguments["items"], arguments["workers"], arguments["labels"], *positional, **options)


def test_input_errors_are_value_errors():
    assert issubclass(AggregationInputError, ValueError)


def test_repeated_answers_count_as_separate_evidence():
    once = dawid_skene([0, 0, 0], [0, 1, 2], [1, 0, 0], 1, 3, 2, smoothing_target="uniform")
    twice = dawid_skene([0, 0, 0, 0, 0], [0, 0, 0, 1, 2], [1, 1, 1, 0, 0], 1, 3, 2, smoothing_target="uniform")

    assert once.votes.tolist() == [[2, 1]] and twice.votes.tolist() == [[2, 3]]
    assert twice.answers.tolist() == [3, 1, 1]


def test_one_coin_recovers_annotator_accuracy():
    rng = np.random.default_rng(11)
    accuracy = rng.uniform(0.4, 0.95, size=20)
    k = 4
    confusion = np.empty((20, k, k))
    confusion[:] = ((1 - accuracy) / (k - 1))[:, None, None]
    confusion[:, np.arange(k), np.arange(k)] = accuracy[:, None]
    truth, items, workers, labels = simulate(confusion, np.full(k, 0.25), n_items=3000, per_item=5)

    result = one_coin(items, workers, labels, 3000, 20, k)

    assert result.method == "one_coin" and result.converged
    assert np.abs(result.accuracy - accuracy).max() < 0.05
    off_diagonal = result.confusion[:, ~np.eye(k, dtype=bool)].reshape(20, -1)
    np.testing.assert_allclose(off_diagonal, np.broadcast_to(off_diagonal[:, :1], off_diagonal.shape))
    assert (result.label == truth).mean() > 0.9


def test_free_text_normalization():
    assert normalize_text("  Hello   World\t\n") == "hello world"
    assert normalize_text("\uff21\uff22\uff23\uff11\uff12\uff13") == "abc123"  # full-width forms fold (NFKC)
    assert normalize_text("Straße") == normalize_text("STRASSE")  # case folding, not lower()
    assert normalize_text("ﬁne") == "fine"  # ligature
    assert normalize_text("e\u0301") == "\u00e9"  # composed
    assert normalize_text("a\u00a0b\u2003c") == "a b c"  # Unicode spaces collapse
    assert normalize_text("Café, please!") == "café, please!"  # punctuation and accents still count


def test_free_text_vote_winner_confidence_and_ties():
    items = np.array([0, 0, 0, 1, 1, 2, 2])
    texts = ["Nairobi", " nairobi ", "Mombasa", "Kisumu", "Eldoret", "NAIROBI", "Nairobi"]

    result = free_text_vote(items, texts, n_items=4)

    assert result.label == ["nairobi", "eldoret", "nairobi", None]  # item 1 ties: the text that sorts first
    assert result.confidence.tolist() == [pytest.approx(2 / 3), 0.5, 1.0, 0.0]
    assert result.votes[0] == {"nairobi": 2, "mombasa": 1} and result.votes[3] == {}
    assert result.display[0] == " nairobi " or result.display[0] == "Nairobi"
    assert result.display[2] == "NAIROBI"  # a tie between spellings: the one that sorts first
    assert result.answers.tolist() == [3, 2, 2, 0]


def test_free_text_vote_ignores_answer_order_and_refuses_bad_input():
    items = np.array([0, 0, 1, 1, 1])
    texts = ["b", "a", "x", "y", "y"]
    a = free_text_vote(items, texts, 2)
    b = free_text_vote(items[::-1], texts[::-1], 2)
    assert a.label == b.label == ["a", "y"]

    with pytest.raises(AggregationInputError, match="same length"):
        free_text_vote([0, 1], ["a"], 2)
    with pytest.raises(AggregationInputError, match="not str"):
        free_text_vote([0], [3], 1)
    assert free_text_vote([], [], 2).label == [None, None]


def test_multilabel_runs_one_binary_model_per_label():
    rng = np.random.default_rng(2)
    n_items, n_workers, n_labels = 600, 12, 3
    truth = rng.random((n_items, n_labels)) < [0.5, 0.2, 0.7]
    items = np.repeat(np.arange(n_items), 5)
    workers = np.argsort(rng.random((n_items, n_workers)), axis=1)[:, :5].ravel()
    reliable = np.where(workers < 9, 0.9, 0.5)[:, None]  # three annotators tick at random
    chosen = np.where(rng.random((items.size, n_labels)) < reliable, truth[items], rng.random((items.size, 3)) < 0.5)

    result = multilabel(items, workers, chosen, n_items, n_workers)

    assert result.selected.shape == result.probability.shape == (n_items, n_labels)
    assert len(result.per_label) == n_labels and all(r.confusion.shape == (n_workers, 2, 2) for r in result.per_label)
    assert (result.selected == truth).mean() > 0.95
    assert np.array_equal(result.selected, result.probability > 0.5)
    assert result.per_label[0].accuracy[:9].min() > result.per_label[0].accuracy[9:].max()


def test_multilabel_label_sets_gold_and_errors():
    matrix = label_sets_to_matrix([["cat"], ["cat", "dog"], []], ["cat", "dog"])
    assert matrix.tolist() == [[True, False], [True, True], [False, False]]
    with pytest.raises(AggregationInputError, match="'cow'"):
        label_sets_to_matrix([["cow"]], ["cat", "dog"])

    gold = np.array([[0, 1], [-1, -1]])
    result = multilabel([0, 0, 1], [0, 1, 0], matrix, 2, 2, gold=gold, method="onecoin")
    assert result.selected[0].tolist() == [False, True] and result.per_label[0].method == "one_coin"
    with pytest.raises(AggregationInputError, match="method"):
        multilabel([0], [0], matrix[:1], 1, 1, method="em")
    with pytest.raises(AggregationInputError, match="bool"):
        multilabel([0], [0], np.ones((1, 2)), 1, 1)
