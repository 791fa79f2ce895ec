import numpy as np
import pytest

from crowd.model_loop.acceptance import (
    AcceptancePolicy,
    ClassEvidence,
    accepted_classes,
    answers_needed,
    class_precision,
    estimated_precision,
    in_audit,
)


def test_class_precision_counts_per_predicted_class():
    pairs = [("pos", "pos"), ("pos", "neg"), ("neg", "neg"), ("pos", "pos")]
    assert class_precision(pairs) == {"pos": ClassEvidence(2 / 3, 3), "neg": ClassEvidence(1.0, 1)}


def test_estimated_precision_follows_bayes_rule_over_the_confusion_matrix():
    # Two classes, prior 0.8/0.2; the model says 1 for 10% of class-0 items and for 90% of class-1 items, so of
    # what it calls 1, 0.18 / (0.08 + 0.18) is really 1.
    confusion = np.array([[0.9, 0.1], [0.1, 0.9]])
    out = estimated_precision(confusion, np.array([0.8, 0.2]), {0: 120, 1: 40})
    assert out[1].items == 40 and out[1].precision == pytest.approx(0.18 / 0.26)
    assert out[0].items == 120 and out[0].precision == pytest.approx(0.72 / 0.74)


def test_a_class_is_accepted_on_enough_evidence_and_an_estimate_at_the_threshold():
    policy = AcceptancePolicy(threshold=0.9, min_evidence=50, rule="estimate")
    precision = {
        "pos": ClassEvidence(0.9, 50),  # exactly the threshold, on exactly enough evidence
        "neg": ClassEvidence(1.0, 49),  # perfect, but too little evidence
        "neu": ClassEvidence(0.899, 5000),  # plenty of evidence, just below
    }
    assert accepted_classes(precision, policy) == {"pos"}


def test_the_cautious_rule_asks_the_lower_bound_to_reach_the_threshold():
    policy = AcceptancePolicy(threshold=0.9, min_evidence=50)  # the default rule
    assert policy.rule == "lower_bound"
    precision = {
        "pos": ClassEvidence(0.99, 200),  # 198 of 200: lower bound ~0.964
        "neu": ClassEvidence(0.92, 100),  # 0.92 estimated, lower bound ~0.85: not sure enough
        "neg": ClassEvidence(1.0, 49),  # too little evidence whatever the rule
    }
    assert accepted_classes(precision, policy) == {"pos"}
    assert accepted_classes(precision, AcceptancePolicy(threshold=0.9, min_evidence=50, rule="estimate")) == {
        "pos",
        "neu",
    }


def test_answers_needed_follows_the_policy():
    policy = AcceptancePolicy(min_score=0.8, confirmations=1)
    common = {"accepted": {"pos"}, "policy": policy, "redundancy": 3}
    assert answers_needed(prelabel="pos", score=0.9, audited=False, **common) == 1
    assert answers_needed(prelabel="pos", score=0.5, audited=False, **common) == 3  # not confident enough
    assert answers_needed(prelabel="pos", score=None, audited=False, **common) == 3
    assert answers_needed(prelabel="neg", score=0.99, audited=False, **common) == 3  # class not accepted
    assert answers_needed(prelabel=None, score=None, audited=False, **common) == 3
    assert answers_needed(prelabel="pos", score=0.9, audited=True, **common) == 3  # kept measuring the model
    zero = AcceptancePolicy(confirmations=0)
    assert answers_needed(prelabel="pos", score=1.0, accepted={"pos"}, policy=zero, redundancy=3, audited=False) == 0


def test_the_audit_share_is_stable_and_close_to_its_rate():
    chosen = [in_audit(i, 0.1, "campaign-1") for i in range(20000)]
    assert chosen == [in_audit(i, 0.1, "campaign-1") for i in range(20000)]
    assert 0.09 < sum(chosen) / len(chosen) < 0.11
    assert not any(in_audit(i, 0.0) for i in range(100)) and all(in_audit(i, 1.0) for i in range(100))


@pytest.mark.parametrize(
    "bad",
    [
        {"threshold": 1.5},
        {"confirmations": 2},
        {"min_evidence": 0},
        {"audit_share": -0.1},
        {"min_score": 2},
        {"rule": "median"},
    ],
)
def test_a_bad_policy_is_refused(bad):
    with pytest.raises(ValueError):
        AcceptancePolicy(**bad)
