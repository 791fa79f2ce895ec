import pytest

from crowd.model_loop.acceptance import AcceptancePolicy, accepted_classes, answers_needed, class_precision, in_audit
from crowd.model_loop.anchoring import Proportion


def test_class_precision_counts_per_predicted_class():
    pairs = [("pos", "pos"), ("pos", "neg"), ("neg", "neg"), ("pos", "pos")]
    assert class_precision(pairs) == {"pos": Proportion(2, 3), "neg": Proportion(1, 1)}


def test_a_class_is_accepted_only_on_enough_evidence_and_a_high_lower_bound():
    policy = AcceptancePolicy(threshold=0.9, min_evidence=50)
    precision = {
        "pos": Proportion(198, 200),  # lower bound ~0.964
        "neg": Proportion(40, 40),  # perfect, but too little evidence
        "neu": Proportion(92, 100),  # 0.92 point estimate, lower bound ~0.85: not enough
    }
    assert accepted_classes(precision, policy) == {"pos"}


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
    [{"threshold": 1.5}, {"confirmations": 2}, {"min_evidence": 0}, {"audit_share": -0.1}, {"min_score": 2}],
)
def test_a_bad_policy_is_refused(bad):
    with pytest.raises(ValueError):
        AcceptancePolicy(**bad)
