"""Krippendorff's alpha for nominal labels, against the worked examples of Krippendorff (2011), "Computing
Krippendorff's Alpha-Reliability", and on constructed data whose answer is known."""

import pytest

from crowd.aggregation.agreement import krippendorff_alpha_nominal


def test_the_two_coder_binary_example_gives_0_095():
    first = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    second = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    alpha = krippendorff_alpha_nominal([[a, b] for a, b in zip(first, second, strict=True)])
    assert alpha == pytest.approx(0.095, abs=0.0005)


def test_the_four_coder_example_with_missing_values_gives_0_743():
    missing = None
    coders = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, missing, missing, missing],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, missing, 3],
        [missing, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, missing],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, missing],
    ]
    units = [[row[unit] for row in coders if row[unit] is not None] for unit in range(12)]
    assert krippendorff_alpha_nominal(units) == pytest.approx(0.743, abs=0.0005)


def test_full_agreement_is_1_and_the_order_of_answers_does_not_matter():
    assert krippendorff_alpha_nominal([["a", "a"], ["b", "b", "b"], ["c", "c"]]) == pytest.approx(1.0)
    forward = [["a", "b", "a"], ["b", "b"], ["a", "c"]]
    assert krippendorff_alpha_nominal(forward) == krippendorff_alpha_nominal([list(reversed(u)) for u in forward])


def test_systematic_disagreement_is_below_zero():
    assert krippendorff_alpha_nominal([["a", "b"], ["b", "a"]]) == pytest.approx(-0.5)


def test_undefined_without_two_answers_to_an_item_or_without_a_second_label():
    assert krippendorff_alpha_nominal([]) is None
    assert krippendorff_alpha_nominal([["a"], ["b"]]) is None  # nothing pairable
    assert krippendorff_alpha_nominal([["a", "a"], ["a", "a"]]) is None  # no disagreement could be expected


def test_single_answers_are_left_out():
    with_singles = [["a", "a"], ["b", "b"], ["c"], ["a", "b"]]
    assert krippendorff_alpha_nominal(with_singles) == krippendorff_alpha_nominal([["a", "a"], ["b", "b"], ["a", "b"]])
