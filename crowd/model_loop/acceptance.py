"""Auto-acceptance on evidence: when a model's word may stand in for some of the people an item would need.

For each class c the model predicts, its precision P(truth = c | model says c) is counted on the evidence the
campaign already has: gold items and items people answered. Counting agreement with the people's label
(`class_precision`) understates a good model wherever people are noisier than it, so the service estimates it from
the model's Dawid-Skene confusion matrix instead (`estimated_precision`): the model is one annotator among the
people, with gold items clamped, and EM separates its errors from theirs. A class is *accepted* when that evidence
reaches `min_evidence` items and, by the policy's `rule`, either the precision's 95% Wilson lower bound reaches
`threshold` (`lower_bound`: cautious, so a class near the threshold waits for more evidence) or the estimate itself
does (`estimate`: the threshold read as written, with the evidence count as the only guard against a few lucky
items). The estimate leans low for a model that is right where people share a systematic confusion (Dawid-Skene
counts its right answers there as errors), and there the lower bound can keep a good model's classes out for a
whole campaign; it leans high where the model's own vote tips items people split on, and there the estimate can
take a class that is worse than the threshold. The coordinator chooses; the service defaults to the bound.

An item whose pre-label is in an accepted class, with a score of at least `min_score`, then needs `confirmations`
human answers (0 or 1) instead of the campaign's redundancy; a fixed share of such items (`audit_share`, chosen by
a hash of the item's id so the choice is stable and unguessable by workers) still goes to the full redundancy, so
the model's precision keeps being measured, and a class that no longer qualifies is no longer accepted at the next
aggregation run.

No Django import: services count the evidence and apply the decision.
"""

import hashlib
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from crowd.model_loop.anchoring import wilson_interval

RULES = ("lower_bound", "estimate")


@dataclass(frozen=True)
class AcceptancePolicy:
    threshold: float = 0.95  # the model's precision for a class, at the least (read by `rule`)
    min_evidence: int = 50  # settled items where the model predicted that class
    min_score: float = 0.0  # the model's own score for this item
    confirmations: int = 1  # human answers an accepted item still gets: 0 or 1
    audit_share: float = 0.1  # accepted-looking items sent to full redundancy anyway
    rule: str = "lower_bound"  # what must reach the threshold: the 95% lower bound or the estimate

    def __post_init__(self) -> None:
        if not 0 <= self.threshold <= 1 or not 0 <= self.min_score <= 1 or not 0 <= self.audit_share <= 1:
            raise ValueError("threshold, min_score and audit_share lie between 0 and 1")
        if self.rule not in RULES:
            raise ValueError(f"rule is one of {', '.join(RULES)}")
        if self.confirmations not in (0, 1) or self.min_evidence < 1:
            raise ValueError("confirmations is 0 or 1 and min_evidence at least 1")


@dataclass(frozen=True)
class ClassEvidence:
    precision: float  # P(truth = c | the model says c)
    items: int  # evidence items on which the model said c


def class_precision(pairs: Iterable[tuple[Hashable, Hashable]]) -> dict[Hashable, ClassEvidence]:
    """(model's label, settled label) pairs -> per predicted class, how often the model was right."""
    hits: dict[Hashable, int] = {}
    totals: dict[Hashable, int] = {}
    for predicted, settled in pairs:
        totals[predicted] = totals.get(predicted, 0) + 1
        hits[predicted] = hits.get(predicted, 0) + (predicted == settled)
    return {label: ClassEvidence(hits[label] / totals[label], totals[label]) for label in totals}


def estimated_precision(
    confusion: np.ndarray, prior: np.ndarray, predicted: Mapping[int, int]
) -> dict[int, ClassEvidence]:
    """The model's precision per class from its Dawid-Skene confusion matrix (K, K) [true, answered] and the class
    prior (K,): P(true = c | says c) = prior[c] confusion[c, c] / sum_k prior[k] confusion[k, c], with the
    `predicted` count of evidence items where it said c."""
    said = prior @ confusion  # P(model says c)
    out: dict[int, ClassEvidence] = {}
    for label, total in predicted.items():
        precision = float(prior[label] * confusion[label, label] / said[label]) if said[label] > 0 else 0.0
        out[label] = ClassEvidence(precision, int(total))
    return out


def accepted_classes(precision: Mapping[Hashable, ClassEvidence], policy: AcceptancePolicy) -> set[Hashable]:
    return {
        label
        for label, evidence in precision.items()
        if evidence.items >= policy.min_evidence and _sure_enough(evidence, policy)
    }


def _sure_enough(evidence: ClassEvidence, policy: AcceptancePolicy) -> bool:
    if policy.rule == "estimate":
        return evidence.precision >= policy.threshold
    hits = round(evidence.precision * evidence.items)
    return wilson_interval(hits, evidence.items)[0] >= policy.threshold


def in_audit(item_key: str | int, share: float, salt: str = "") -> bool:
    """A stable pseudo-random choice of `share` of the items."""
    digest = hashlib.md5(f"{salt}:{item_key}".encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def answers_needed(
    *,
    prelabel: Hashable | None,
    score: float | None,
    accepted: set[Hashable],
    policy: AcceptancePolicy,
    redundancy: int,
    audited: bool,
) -> int:
    """How many human answers this item needs: the policy's confirmations when the model's word is accepted,
    the campaign's redundancy otherwise."""
    if prelabel is None or prelabel not in accepted or audited:
        return redundancy
    if (score if score is not None else 0.0) < policy.min_score:
        return redundancy
    return min(policy.confirmations, redundancy)
