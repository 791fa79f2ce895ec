"""The anchoring statistics against published intervals and on simulated review-mode answers of known effect."""

import numpy as np
import pytest

from crowd.model_loop.anchoring import Proportion, anchoring_report, newcombe_difference, wilson_interval


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
