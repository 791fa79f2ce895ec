"""One-coin Dawid-Skene: each annotator has a single accuracy instead of a full confusion matrix.

The restriction of Dawid & Skene (1979) (JRSS C 28(1):20-28) in which annotator w answers the true class with
probability p_w and each other class with probability (1 - p_w) / (K - 1) — the "one-coin" model of Raykar et
al. (JMLR 2010) and Karger, Oh & Shah (NIPS 2011). One parameter per annotator instead of K(K-1) makes it more
stable when annotators give few answers; it cannot learn that someone systematically mixes up two classes.

Same inputs, options, shapes, errors and result (`AggregationResult`, method "one_coin") as
`crowd.aggregation.dawid_skene.dawid_skene`; `confusion[w]` is p_w on the diagonal and the rest spread evenly.
Smoothing adds `smoothing · K` pseudo-answers per annotator at the crowd's pooled accuracy (smoothing_target
"crowd") or at chance, 1/K ("uniform").
"""

import numpy as np

from crowd.aggregation.dawid_skene import AggregationResult, expectation_maximization


def one_coin_m_step(counts: np.ndarray, smoothing: float, target: str) -> np.ndarray:
    """counts (W, K, K) expected [annotator, true, answered] counts → one-coin confusion matrices (W, K, K)."""
    k = counts.shape[-1]
    correct = np.trace(counts, axis1=1, axis2=2)  # (W,)
    total = counts.sum(axis=(1, 2))
    crowd_accuracy = correct.sum() / total.sum() if total.sum() > 0 else 1.0 / k
    base = 1.0 / k if target == "uniform" else crowd_accuracy
    pseudo = smoothing * k
    accuracy = np.divide(
        correct + pseudo * base, total + pseudo, out=np.full(correct.shape, 1.0 / k), where=total + pseudo > 0
    )
    if k == 1:
        return np.ones_like(counts)
    off = (1.0 - accuracy) / (k - 1)
    confusion = np.broadcast_to(off[:, None, None], counts.shape).copy()
    diagonal = np.arange(k)
    confusion[:, diagonal, diagonal] = accuracy[:, None]
    return confusion


def one_coin(
    items,
    workers,
    labels,
    n_items: int,
    n_workers: int,
    n_classes: int,
    *,
    gold=None,
    max_iter: int = 100,
    tol: float = 1e-7,
    smoothing: float = 1.0,
    smoothing_target: str = "crowd",
    prior_smoothing: float = 1.0,
    init_confusion=None,
    init_prior=None,
) -> AggregationResult:
    """One-coin EM (annotator accuracy only); arguments as for `dawid_skene`. Raises AggregationInputError."""
    return expectation_maximization(
        items,
        workers,
        labels,
        n_items,
        n_workers,
        n_classes,
        m_step=one_coin_m_step,
        method="one_coin",
        gold=gold,
        max_iter=max_iter,
        tol=tol,
        smoothing=smoothing,
        smoothing_target=smoothing_target,
        prior_smoothing=prior_smoothing,
        init_confusion=init_confusion,
        init_prior=init_prior,
    )
