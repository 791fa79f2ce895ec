"""Does showing a model's suggestion sway people? A two-arm comparison on review-mode answers.

In review mode a random share of items is served blind (no suggestion). Because blindness is assigned at random,
the two arms differ only in whether the suggestion was shown, so

    anchoring = P(answer == suggestion | shown) - P(answer == suggestion | blind)

estimates the suggestion's pull. A model that is right makes people agree with it more *and* be right more often;
a pull that does not buy accuracy on gold items is anchoring, and so is one toward a suggested label that is
right less often than people are on their own (a bias toward one label hides behind the gains on the others).
Per suggested label the check compares the blind arm's accuracy on that label's gold items with the shown arm's
and with the suggestion's own: following pays only where the suggestion is right more often than people are
without it. The shown arm moves only by the share who follow, so where few follow, its difference hides a gap the
suggestion's own accuracy shows plainly (the suggestion is drawn before the arm, so both comparisons are as fair
within a label as overall). Intervals are
Newcombe's hybrid score intervals for a difference of two proportions (Newcombe 1998, method 10), built from
Wilson intervals, which stay inside [-1, 1] and behave at small counts and at rates near 0 or 1, where the Wald
interval does not.

No Django import: the selectors count, this module judges.
"""

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from math import sqrt
from statistics import NormalDist

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Proportion:
    hits: int
    total: int

    @property
    def rate(self) -> float | None:
        return self.hits / self.total if self.total else None


@dataclass(frozen=True)
class Difference:
    """shown - blind, with its 95% interval; None where an arm has no observations."""

    estimate: float | None
    low: float | None
    high: float | None

    @property
    def significantly_positive(self) -> bool:
        return self.low is not None and self.low > 0


@dataclass(frozen=True)
class SuggestionCounts:
    """On the gold items where the model suggested one label: the shown arm's correct answers, the blind arm's,
    and how often the suggestion itself was right on the shown arm's answers."""

    shown: Proportion
    blind: Proportion
    suggestion: Proportion


@dataclass(frozen=True)
class SuggestionArms:
    """Accuracy on gold items where the model suggested one label: shown arm against blind arm (`difference`), and
    the suggestion's own against the blind arm (`suggestion_difference`). The intervals are simultaneous over all
    the suggested labels (Bonferroni), so looking at every label keeps the 5% error rate."""

    suggestion: Hashable
    gold_accuracy_shown: Proportion
    gold_accuracy_blind: Proportion
    difference: Difference
    suggestion_accuracy: Proportion
    suggestion_difference: Difference


@dataclass(frozen=True)
class AnchoringReport:
    agreement_shown: Proportion
    agreement_blind: Proportion
    agreement_difference: Difference
    gold_accuracy_shown: Proportion
    gold_accuracy_blind: Proportion
    gold_accuracy_difference: Difference
    by_suggestion: tuple[SuggestionArms, ...] = ()

    @property
    def warning(self) -> bool:
        """A significant pull that does not buy accuracy on gold: not significantly more accurate overall, or
        misled on some suggested label."""
        not_more_accurate = not self.gold_accuracy_difference.significantly_positive or bool(
            self.misleading_suggestions
        )
        return self.agreement_difference.significantly_positive and not_more_accurate

    @property
    def misleading_suggestions(self) -> list[Hashable]:
        """Suggested labels that cost accuracy on their gold items: people shown them are significantly less
        accurate there, or people follow suggestions (a significant pull) and this one is right there significantly
        less often than people are on their own."""
        pulled = self.agreement_difference.significantly_positive
        return [
            arms.suggestion
            for arms in self.by_suggestion
            if _significantly_negative(arms.difference)
            or (pulled and _significantly_negative(arms.suggestion_difference))
        ]


def wilson_interval(hits: int, total: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927)."""
    if total <= 0:
        raise ValueError("a proportion needs at least one observation")
    if not 0 <= hits <= total:
        raise ValueError("hits must lie between 0 and total")
    p = hits / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference(a: Proportion, b: Proportion, z: float = Z95) -> Difference:
    """a - b with Newcombe's hybrid score interval; an empty arm gives an empty difference."""
    if not a.total or not b.total:
        return Difference(None, None, None)
    p1, p2 = a.hits / a.total, b.hits / b.total
    l1, u1 = wilson_interval(a.hits, a.total, z)
    l2, u2 = wilson_interval(b.hits, b.total, z)
    estimate = p1 - p2
    low = estimate - sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = estimate + sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Difference(estimate, max(-1.0, low), min(1.0, high))


def _significantly_negative(difference: Difference) -> bool:
    return difference.high is not None and difference.high < 0


def by_suggestion_report(
    gold_accuracy_by_suggestion: Mapping[Hashable, SuggestionCounts],
) -> tuple[SuggestionArms, ...]:
    """Per suggested label, the counts on its gold items -> the differences against the blind arm, with intervals
    at the Bonferroni-adjusted level over the labels where both arms have answers (two comparisons per label)."""
    compared = [label for label, c in gold_accuracy_by_suggestion.items() if c.shown.total and c.blind.total]
    z = NormalDist().inv_cdf(1 - 0.05 / (2 * 2 * max(1, len(compared))))
    return tuple(
        SuggestionArms(
            suggestion=label,
            gold_accuracy_shown=counts.shown,
            gold_accuracy_blind=counts.blind,
            difference=newcombe_difference(counts.shown, counts.blind, z),
            suggestion_accuracy=counts.suggestion,
            suggestion_difference=newcombe_difference(counts.suggestion, counts.blind, z),
        )
        for label, counts in sorted(gold_accuracy_by_suggestion.items(), key=lambda pair: str(pair[0]))
    )


def anchoring_report(
    *,
    agreement_shown: Proportion,
    agreement_blind: Proportion,
    gold_accuracy_shown: Proportion,
    gold_accuracy_blind: Proportion,
    gold_accuracy_by_suggestion: Mapping[Hashable, SuggestionCounts] | None = None,
) -> AnchoringReport:
    """Warn when the shown arm agrees with the model significantly more than the blind arm while it is not more
    accurate on gold for it: either not significantly more accurate overall, or misled on the gold items of some
    suggested label (less accurate there than the blind arm, or following a suggestion that is right there less
    often than the blind arm is). The second catches a bias toward one label that an overall gain elsewhere
    hides: people follow that suggestion into errors they would not make on their own."""
    return AnchoringReport(
        agreement_shown=agreement_shown,
        agreement_blind=agreement_blind,
        agreement_difference=newcombe_difference(agreement_shown, agreement_blind),
        gold_accuracy_shown=gold_accuracy_shown,
        gold_accuracy_blind=gold_accuracy_blind,
        gold_accuracy_difference=newcombe_difference(gold_accuracy_shown, gold_accuracy_blind),
        by_suggestion=by_suggestion_report(gold_accuracy_by_suggestion or {}),
    )
