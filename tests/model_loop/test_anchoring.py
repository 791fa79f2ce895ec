"""The anchoring statistics against published intervals and on simulated review-mode answers of known effect."""

from statistics import NormalDist

import numpy as np
import pytest

from crowd.model_loop.anchoring import (
    Proportion,
    SuggestionCounts,
    anchoring_report,
    by_suggestion_report,
    newcombe_difference,
    wilson_interval,
)


def test_wilson_interval_matches_newcombes_published_value():
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", 81/263.
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-5)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # Newcombe (1998), "Interval estimation for the difference between independent proportions", Table II, m. 10.
        ((56, 70), (48, 80), (0.0524, 0.3339)),
        ((9, 10), (3, 10), (0.1705, 0.8090)),
        ((5, 56), (0, 29), (-0.0381, 0.1926)),
    ],
)
def test_newcombe_difference_matches_the_published_table(a, b, expected):
    difference = newcombe_difference(Proportion(*a), Proportion(*b))
    assert (difference.low, difference.high) == pytest.approx(expected, abs=5e-5)


def test_an_empty_arm_gives_no_difference_and_no_warning():
    report = anchoring_report(
        agreement_shown=Proportion(90, 100),
        agreement_blind=Proportion(0, 0),
        gold_accuracy_shown=Proportion(0, 0),
        gold_accuracy_blind=Proportion(0, 0),
    )
    assert report.agreement_difference.estimate is None and report.warning is False


def test_bad_counts_are_refused():
    with pytest.raises(ValueError):
        wilson_interval(5, 0)
    with pytest.raises(ValueError):
        wilson_interval(6, 5)


def _simulate(*, follow: float, model_accuracy: float, worker_accuracy: float, n: int = 4000, seed: int = 7):
    """Binary items; a shown suggestion is followed with probability `follow`, otherwise the worker answers on
    their own. Returns the four proportions the report takes (every item is gold here)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, n)
    model = np.where(rng.random(n) < model_accuracy, truth, 1 - truth)
    own = np.where(rng.random(n) < worker_accuracy, truth, 1 - truth)
    blind = rng.random(n) < 0.3
    answer = np.where(~blind & (rng.random(n) < follow), model, own)
    agree, correct = answer == model, answer == truth
    return {
        "agreement_shown": Proportion(int(agree[~blind].sum()), int((~blind).sum())),
        "agreement_blind": Proportion(int(agree[blind].sum()), int(blind.sum())),
        "gold_accuracy_shown": Proportion(int(correct[~blind].sum()), int((~blind).sum())),
        "gold_accuracy_blind": Proportion(int(correct[blind].sum()), int(blind.sum())),
    }


def test_a_pull_toward_a_model_no_better_than_people_is_flagged_and_its_size_recovered():
    arms = _simulate(follow=0.4, model_accuracy=0.7, worker_accuracy=0.8)
    report = anchoring_report(**arms)
    # Expected pull: follow * (1 - P(own answer agrees with model)) = 0.4 * (1 - (0.7*0.8 + 0.3*0.2)) = 0.152.
    difference = report.agreement_difference
    assert difference.low < 0.152 < difference.high
    assert report.warning is True


def test_following_a_better_model_that_makes_people_right_is_not_flagged():
    arms = _simulate(follow=0.6, model_accuracy=0.97, worker_accuracy=0.7)
    report = anchoring_report(**arms)
    assert report.agreement_difference.significantly_positive
    assert report.gold_accuracy_difference.significantly_positive
    assert report.warning is False


def test_no_pull_is_not_flagged():
    report = anchoring_report(**_simulate(follow=0.0, model_accuracy=0.7, worker_accuracy=0.8))
    assert report.agreement_difference.low < 0 < report.agreement_difference.high
    assert report.warning is False


def _simulate_by_suggestion(*, follow: float, bias: float, worker_accuracy: float, n: int = 40000, seed: int = 7):
    """Three classes. The model is always right when it suggests 0 or 1, but suggests 2 for every item of class 2
    and for a `bias` share of the others; a worker answers on their own with `worker_accuracy` (wrong answers
    spread evenly) unless they follow a shown suggestion. Returns the report's arguments, per suggestion too."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n)
    model = np.where((truth == 2) | (rng.random(n) < bias), 2, truth)
    own = np.where(rng.random(n) < worker_accuracy, truth, (truth + rng.integers(1, 3, n)) % 3)
    blind = rng.random(n) < 0.3
    answer = np.where(~blind & (rng.random(n) < follow), model, own)
    agree, correct = answer == model, answer == truth

    def arm(hit, where):
        return Proportion(int(hit[where].sum()), int(where.sum()))

    return {
        "agreement_shown": arm(agree, ~blind),
        "agreement_blind": arm(agree, blind),
        "gold_accuracy_shown": arm(correct, ~blind),
        "gold_accuracy_blind": arm(correct, blind),
        "gold_accuracy_by_suggestion": {
            label: SuggestionCounts(
                shown=arm(correct, ~blind & (model == label)),
                blind=arm(correct, blind & (model == label)),
                suggestion=arm(model == truth, ~blind & (model == label)),
            )
            for label in range(3)
        },
    }


def test_a_bias_toward_one_label_hidden_by_an_overall_gain_is_flagged_on_that_label():
    # Suggestion 2 is right half the time (1/3 of the items are 2, and it is said for half of the other 2/3):
    # following it costs 0.5 * (0.6 - 0.5) = 0.05 there; following 0 or 1 (always right) gains 0.5 * 0.4 = 0.2.
    # Overall the shown arm is more accurate (+0.033), so the overall comparison alone would not warn.
    report = anchoring_report(**_simulate_by_suggestion(follow=0.5, bias=0.5, worker_accuracy=0.6))
    assert report.gold_accuracy_difference.significantly_positive
    harmed = {arms.suggestion: arms for arms in report.by_suggestion}[2]
    assert harmed.difference.low < -0.05 < harmed.difference.high
    assert report.misleading_suggestions == [2]
    assert report.warning is True


def test_a_model_whose_every_suggestion_beats_people_is_not_flagged_on_any_label():
    report = anchoring_report(**_simulate_by_suggestion(follow=0.5, bias=0.0, worker_accuracy=0.6))
    assert report.gold_accuracy_difference.significantly_positive
    assert report.misleading_suggestions == []
    assert report.warning is False


def test_a_gap_too_small_to_move_the_arms_is_flagged_by_the_suggestions_own_accuracy():
    # Few follow (0.1): on suggestion 2 the shown arm loses only 0.1 * (0.6 - 0.5) = 0.01 against the blind arm,
    # too little to tell apart, but the suggestion itself is right 0.5 of the time there against people's 0.6.
    report = anchoring_report(**_simulate_by_suggestion(follow=0.1, bias=0.5, worker_accuracy=0.6))
    assert report.agreement_difference.significantly_positive
    harmed = {arms.suggestion: arms for arms in report.by_suggestion}[2]
    assert harmed.difference.low < 0 < harmed.difference.high
    assert harmed.suggestion_difference.low < -0.1 < harmed.suggestion_difference.high < 0
    assert report.misleading_suggestions == [2] and report.warning is True


def test_without_a_pull_no_label_is_flagged_even_under_a_bias():
    report = anchoring_report(**_simulate_by_suggestion(follow=0.0, bias=0.5, worker_accuracy=0.6))
    assert report.misleading_suggestions == [] and report.warning is False


def test_per_label_intervals_are_simultaneous_over_the_labels_compared():
    arms = SuggestionCounts(shown=Proportion(40, 100), blind=Proportion(50, 100), suggestion=Proportion(30, 100))
    alone = by_suggestion_report({"a": arms})[0]
    among_three = by_suggestion_report({"a": arms, "b": arms, "c": arms})[0]
    # Bonferroni over two comparisons per label: one label puts each interval at the 1 - 0.05/2 level...
    z = NormalDist().inv_cdf(1 - 0.05 / 4)
    expected = newcombe_difference(arms.shown, arms.blind, z)
    assert (alone.difference.low, alone.difference.high) == pytest.approx((expected.low, expected.high))
    expected = newcombe_difference(arms.suggestion, arms.blind, z)
    assert (alone.suggestion_difference.low, alone.suggestion_difference.high) == pytest.approx(
        (expected.low, expected.high)
    )
    # ...and three labels widen them to 1 - 0.05/6.
    assert among_three.difference.low < alone.difference.low and among_three.difference.high > alone.difference.high
    assert among_three.suggestion_difference.low < alone.suggestion_difference.low
    # A label with an empty arm is reported but neither compared nor counted.
    empty = SuggestionCounts(shown=Proportion(3, 5), blind=Proportion(0, 0), suggestion=Proportion(2, 5))
    with_empty = by_suggestion_report({"a": arms, "b": empty})
    assert with_empty[0] == alone and with_empty[1].difference.estimate is None
    assert with_empty[1].suggestion_difference.estimate is None
