"""Dawid-Skene expectation-maximization over integer-coded crowd answers (pure NumPy, no Django).

A. P. Dawid and A. M. Skene, "Maximum Likelihood Estimation of Observer Error-Rates Using the EM Algorithm",
Journal of the Royal Statistical Society, Series C (Applied Statistics) 28(1):20-28, 1979.

Model: item i has a hidden true class z_i ~ Categorical(prior); annotator w answers k on it with probability
confusion[w, z_i, k], independently of the other answers. EM alternates
    E-step  posterior[i, c] ∝ prior[c] · Π over answers (i, w, k) of confusion[w, c, k]     (summed in log space)
    M-step  confusion[w, c, k] ∝ smoothing · K · target[c, k] + Σ over answers (i, w, k) of posterior[i, c]
            prior[c] ∝ prior_smoothing + Σ over items of posterior[i, c]
With smoothing > 0 the M-step is a MAP estimate under Dirichlet priors: every confusion row gets smoothing · K
pseudo-answers, spread like the crowd's pooled confusion row (smoothing_target="crowd": an empirical-Bayes
shrinkage) or evenly (smoothing_target="uniform": a symmetric Dirichlet(1 + smoothing)); the class prior gets
prior_smoothing pseudo-items per class. smoothing=0 is plain maximum likelihood, as in crowd-kit (probabilities
floored at 1e-10).

Default: maximum likelihood, with the annotators who gave a single answer sharing one matrix
(crowd/aggregation/sparse.py; pool_below=0 turns this off). Smoothing toward the crowd helps on simulated crowds
but cost accuracy against plain maximum likelihood on real crowds whose workers give a handful of answers each;
pooling the one-answer annotators, whom maximum likelihood ignores, never did (docs/aggregation.md has the
evidence). `PLAIN_ML` are the options of crowd-kit's estimator.

Shapes (n answers, I items, W annotators, K classes):
    items, workers, labels   (n,)       ints in [0, I), [0, W), [0, K); one row per answer, repeats allowed
    gold                     (I,)       known class of an item, or -1; known items keep it ("clamped") and
                                        teach the annotators' matrices and the prior
    init_confusion           (W0, K, K) warm start, W0 <= W: [annotator, true class, answered class], rows sum to 1
    init_prior               (K,)       warm start class prior
Result arrays are documented on `AggregationResult`.

Degenerate input: indices out of range, mismatched shapes, non-integer arrays, K < 1, bad options raise
`AggregationInputError` (a ValueError) naming the first offending position. No answers at all, one class,
or one annotator are defined results: items without answers (and without gold) get label -1, confidence 0 and
the prior as posterior; with one class every answered item is class 0 with confidence 1; one annotator's answers
are simply followed (the model cannot tell their errors from the truth).

Vectorization: answers are laid out once in "jagged diagonal" order — items sorted by answer count
(descending), then slot j holds the j-th answer of every item that has more than j answers — so each E-step is a
`take` of log-confusion columns plus one contiguous vector add per slot (max answers per item, not per answer),
and each M-step is weighted `np.bincount`s over (annotator, answered class) codes. Scores are kept relative to
the last class, so both steps touch K - 1 rows (half the work for binary tasks). Nothing loops over answers.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from crowd.aggregation.checks import AggregationInputError, as_index_array, check_answers, check_gold
from crowd.aggregation.layout import Layout
from crowd.aggregation.sparse import pool_sparse

__all__ = ["PLAIN_ML", "AggregationInputError", "AggregationResult", "as_index_array", "dawid_skene"]

FLOOR = 1e-10  # smallest probability used inside logs (matters only with smoothing=0)
SMOOTHING_TARGETS = ("crowd", "uniform")
# Plain maximum-likelihood Dawid-Skene, 100 iterations, no early stop: crowd-kit's DawidSkene(n_iter=100), the
# reference the default is judged against.
PLAIN_ML = {
    "smoothing": 0.0,
    "prior_smoothing": 0.0,
    "pool_below": 0,
    "confidence_smoothing": 0.0,
    "max_iter": 100,
    "tol": 0.0,
}


@dataclass(frozen=True, eq=False)
class AggregationResult:
    """Outcome of one aggregation run. Arrays are read-only.

    Per item (I items, K classes):
        label       (I,)   int64    most probable class (lowest index on ties); gold class for gold items;
                                    -1 for items with neither answers nor gold
        confidence  (I,)   float64  posterior probability of `label`; 1 for gold items, 0 for unlabelled ones
        posterior   (I, K) float64  class posterior; the prior for items without answers
        votes       (I, K) int64    raw answer counts per class
    Per annotator (W annotators):
        confusion   (W, K, K) float64  [annotator, true class, answered class]; rows sum to 1
        accuracy    (W,)   float64  estimated accuracy: Σ_c prior[c] · confusion[w, c, c]
        answers     (W,)   int64    number of answers given
    Run:
        prior       (K,)   float64  estimated class prior
        iterations  EM iterations run (one M-step and one E-step each); 0 when nothing was estimated
        converged   True when the log-likelihood settled within `tol` before `max_iter`
        log_likelihood  observed-data log-likelihood at the returned parameters (gold items: joint with gold)
        history     (iterations,) float64 log-likelihood after each iteration
        method      "dawid_skene" or "one_coin"
    """

    label: np.ndarray
    confidence: np.ndarray
    posterior: np.ndarray
    votes: np.ndarray
    confusion: np.ndarray
    accuracy: np.ndarray
    answers: np.ndarray
    prior: np.ndarray
    iterations: int
    converged: bool
    log_likelihood: float
    history: np.ndarray
    method: str

    def __post_init__(self):
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False


def normalize_rows(counts: np.ndarray, pseudo: float) -> np.ndarray:
    """(…, K) counts + pseudo-counts → rows summing to 1 (uniform where a row has no mass at all)."""
    smoothed = counts + pseudo
    total = smoothed.sum(axis=-1, keepdims=True)
    k = counts.shape[-1]
    return np.divide(smoothed, total, out=np.full_like(smoothed, 1.0 / k), where=total > 0)


def pseudo_rows(counts: np.ndarray, target: str) -> np.ndarray:
    """(K, K) rows the pseudo-counts are spread by: the crowd's pooled confusion rows, or uniform rows."""
    k = counts.shape[-1]
    if target == "uniform":
        return np.full((k, k), 1.0 / k)
    return normalize_rows(counts.sum(axis=0), 1.0)  # itself add-one smoothed, for tiny or unanimous crowds


def full_m_step(counts: np.ndarray, smoothing: float, target: str) -> np.ndarray:
    """counts (W, K, K) expected [annotator, true, answered] counts → confusion matrices (Dawid & Skene)."""
    k = counts.shape[-1]
    return normalize_rows(counts + smoothing * k * pseudo_rows(counts, target), 0.0)


def check_warm_start(init_confusion, init_prior, n_workers: int, n_classes: int):
    confusion = prior = None
    if init_confusion is not None:
        confusion = np.array(init_confusion, dtype=np.float64)
        if confusion.ndim != 3 or confusion.shape[1:] != (n_classes, n_classes) or confusion.shape[0] > n_workers:
            raise AggregationInputError(
                f"init_confusion must have shape (W0, {n_classes}, {n_classes}) with W0 <= {n_workers}, "
                f"got {confusion.shape}"
            )
        if not np.isfinite(confusion).all() or (confusion < 0).any():
            raise AggregationInputError("init_confusion must hold finite non-negative probabilities")
        confusion = normalize_rows(confusion, 0.0)
        if confusion.shape[0] < n_workers:  # annotators new since the previous run start from the crowd's average
            average = confusion.mean(axis=0) if confusion.shape[0] else np.full((n_classes, n_classes), 1 / n_classes)
            extra = np.broadcast_to(average, (n_workers - confusion.shape[0], n_classes, n_classes))
            confusion = np.concatenate([confusion, extra])
    if init_prior is not None:
        prior = np.array(init_prior, dtype=np.float64)
        if prior.shape != (n_classes,) or not np.isfinite(prior).all() or (prior < 0).any() or prior.sum() <= 0:
            raise AggregationInputError(
                f"init_prior must be {n_classes} non-negative finite numbers with a positive sum"
            )
        prior = prior / prior.sum()
    return confusion, prior


def check_options(max_iter: int, tol: float, smoothing: float, prior_smoothing: float, target: str):
    if target not in SMOOTHING_TARGETS:
        raise AggregationInputError(f"smoothing_target must be one of {SMOOTHING_TARGETS}, got {target!r}")
    if not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise AggregationInputError(f"max_iter must be a positive integer, got {max_iter!r}")
    if not np.isfinite(tol) and tol != -np.inf:
        raise AggregationInputError(f"tol must be a number, got {tol!r}")
    for name, value in (("smoothing", smoothing), ("prior_smoothing", prior_smoothing)):
        if not np.isfinite(value) or value < 0:
            raise AggregationInputError(f"{name} must be a non-negative number, got {value!r}")


def expectation_maximization(
    items,
    workers,
    labels,
    n_items: int,
    n_workers: int,
    n_classes: int,
    *,
    m_step: Callable[[np.ndarray, float, str], np.ndarray],
    method: str,
    gold=None,
    max_iter: int,
    tol: float,
    smoothing: float,
    smoothing_target: str,
    prior_smoothing: float,
    init_confusion=None,
    init_prior=None,
) -> AggregationResult:
    """The EM loop shared by the full (Dawid-Skene) and one-coin models; `m_step` maps counts to matrices."""
    items, workers, labels = check_answers(items, workers, labels, n_items, n_workers, n_classes)
    gold = check_gold(gold, n_items, n_classes)
    check_options(max_iter, tol, smoothing, prior_smoothing, smoothing_target)
    init_confusion, init_prior = check_warm_start(init_confusion, init_prior, n_workers, n_classes)
    k = n_classes
    r = k - 1  # classes are scored relative to the last one (the reference class), whose row is then implied
    codes = n_workers * k  # (annotator, answered class) pairs
    votes = np.bincount(items * k + labels, minlength=n_items * k).reshape(n_items, k)
    answers = np.bincount(workers, minlength=n_workers)
    layout = Layout(items, workers, labels, n_items, k)
    n_positions = layout.order.size
    per_code = np.bincount(layout.code, minlength=codes).astype(np.float64)  # answers per (annotator, class)

    gold_at = gold[layout.order]  # (P,) gold class at each position, -1 when unknown
    clamped = np.flatnonzero(gold_at >= 0)
    clamped_class = gold_at[clamped]
    scored = clamped_class < r  # clamped to a class other than the reference (whose relative score is 0)
    unanswered_gold = np.bincount(gold[(gold >= 0) & (votes.sum(axis=1) == 0)], minlength=k)
    free = np.ones(n_positions, dtype=bool)  # positions whose class is estimated, not clamped
    free[clamped] = False
    free = slice(None) if free.all() else free

    def estimate(posterior: np.ndarray, buffer: np.ndarray):
        """M-step: (K, P) posterior → confusion (W, K, K), prior (K,)."""
        layout.broadcast(posterior[:r], buffer)
        counts = np.empty((k, codes))
        for c in range(r):
            counts[c] = np.bincount(layout.code, weights=buffer[c], minlength=codes)
        # Each answer's posterior sums to one, so the reference class gets whatever the others leave.
        np.maximum(per_code - counts[:r].sum(axis=0), 0.0, out=counts[r])
        confusion = m_step(counts.reshape(k, n_workers, k).transpose(1, 0, 2), smoothing, smoothing_target)
        prior = normalize_rows(posterior.sum(axis=1) + unanswered_gold, prior_smoothing)
        return confusion, prior

    def expect(confusion: np.ndarray, prior: np.ndarray, buffer: np.ndarray, out: np.ndarray) -> float:
        """E-step: parameters → (K, P) posterior written into `out`; returns the log-likelihood.

        score[c, i] = log prior[c] + Σ log confusion[w, c, k] - (the same for the reference class), so only
        K - 1 rows are gathered and summed; the reference part of the likelihood is Σ per_code · log row.
        """
        log_confusion = np.log(np.maximum(confusion, FLOOR))
        log_prior = np.log(np.maximum(prior, FLOOR))
        reference = log_confusion[:, r, :].reshape(codes)
        relative = (log_confusion[:, :r, :] - log_confusion[:, r:, :]).transpose(1, 0, 2).reshape(r, codes)
        np.take(relative, layout.code, axis=1, out=buffer, mode="clip")  # mode "raise" would buffer `out`
        scores = layout.per_position_sum(buffer, out[:r])
        scores += (log_prior[:r] - log_prior[r])[:, None]
        gold_terms = scores[clamped_class[scored], clamped[scored]].sum()
        top = scores.max(axis=0, initial=0.0)
        scores -= top
        np.exp(scores, out=scores)
        np.exp(-top, out=out[r])
        total = scores.sum(axis=0) + out[r]
        out /= total
        out[:, clamped] = 0.0
        out[clamped_class, clamped] = 1.0
        free_terms = (top[free] + np.log(total[free])).sum()
        return float(free_terms + gold_terms + per_code @ reference + n_positions * log_prior[r])

    history: list[float] = []
    converged = False
    if layout.n_answers == 0:
        confusion = init_confusion if init_confusion is not None else np.full((n_workers, k, k), 1.0 / k)
        prior = init_prior if init_prior is not None else normalize_rows(unanswered_gold, max(prior_smoothing, 1e-12))
        posterior = np.empty((k, 0))
        converged = True
    else:
        buffer = np.empty((r, layout.n_answers))
        posterior = np.empty((k, n_positions))
        previous = -np.inf
        if init_confusion is not None:
            if init_prior is None:
                init_prior = normalize_rows(votes.sum(axis=0) + np.bincount(gold[gold >= 0], minlength=k), 1.0)
            previous = expect(init_confusion, init_prior, buffer, posterior)
        else:  # majority vote shares, gold clamped
            shares = votes[layout.order].T.astype(np.float64)
            posterior[:] = shares / shares.sum(axis=0)
            posterior[:, clamped] = 0.0
            posterior[clamped_class, clamped] = 1.0
            if clamped.size:  # gold alone teaches the first matrices, so a wrong majority cannot set the start
                gold_only = np.zeros_like(posterior)
                gold_only[clamped_class, clamped] = 1.0
                start_prior = normalize_rows(posterior.sum(axis=1) + unanswered_gold, prior_smoothing)
                previous = expect(estimate(gold_only, buffer)[0], start_prior, buffer, posterior)
        for _ in range(max_iter):
            confusion, prior = estimate(posterior, buffer)
            current = expect(confusion, prior, buffer, posterior)
            history.append(current)
            if abs(current - previous) < tol * layout.n_answers:
                converged = True
                break
            previous = current
    return assemble(
        layout, posterior, confusion, prior, gold, votes, answers, history, converged, method, n_items, n_workers
    )


def assemble(layout, posterior, confusion, prior, gold, votes, answers, history, converged, method, n_items, n_workers):
    k = prior.size
    full = np.empty((n_items, k))
    full[:] = prior
    full[layout.order] = posterior.T
    known = np.flatnonzero(gold >= 0)
    full[known] = 0.0
    full[known, gold[known]] = 1.0
    label = full.argmax(axis=1)  # first maximum: the lowest class index on ties
    confidence = full[np.arange(n_items), label]
    unlabelled = np.ones(n_items, dtype=bool)
    unlabelled[layout.order] = False
    unlabelled[known] = False
    label[unlabelled] = -1
    confidence[unlabelled] = 0.0
    accuracy = np.einsum("wcc,c->w", confusion, prior) if n_workers else np.zeros(0)
    return AggregationResult(
        label=label.astype(np.int64),
        confidence=confidence,
        posterior=full,
        votes=votes.astype(np.int64),
        confusion=np.ascontiguousarray(confusion),
        accuracy=accuracy,
        answers=answers.astype(np.int64),
        prior=prior,
        iterations=len(history),
        converged=converged,
        log_likelihood=history[-1] if history else 0.0,
        history=np.array(history, dtype=np.float64),
        method=method,
    )


def dawid_skene(
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
    smoothing: float = 0.0,
    smoothing_target: str = "crowd",
    prior_smoothing: float = 0.0,
    pool_below: int = 2,
    confidence_smoothing: float = 1.0,
    init_confusion=None,
    init_prior=None,
) -> AggregationResult:
    """Dawid-Skene EM with full confusion matrices; see the module docstring for the model and shapes.

    Annotators with fewer than `pool_below` answers (default 2: one-answer annotators; 0: none) share one matrix,
    which every one of them gets in the result. With `confidence_smoothing` > 0, every reported probability
    (posterior, confidence, confusion, accuracy, prior) comes from a second, cautious fit started from the first:
    `confidence_smoothing` pseudo-answers per confusion cell toward the crowd's matrix and as many pseudo-items per
    class in the prior (the earlier default). `label` stays the first fit's decision; its confidence is the
    probability the cautious fit gives it (below 0.5 where the two disagree). 0 reports the first fit itself,
    whose zeros and ones are not honest probabilities. Run statistics are the first fit's.

    Starts from majority-vote shares; with gold, from matrices learned on the gold items alone (annotators without
    gold answers start at the crowd's); for a warm start, from `init_confusion`/`init_prior` of a previous run
    (`previous.confusion`, `previous.prior`; annotators beyond those start at their average). Stops after
    `max_iter` iterations or when the log-likelihood per answer changes by less than `tol` (tol=0 never stops
    early). Raises AggregationInputError for bad input.
    """
    items, workers, labels = check_answers(items, workers, labels, n_items, n_workers, n_classes)
    if not isinstance(pool_below, int | np.integer) or pool_below < 0:
        raise AggregationInputError(f"pool_below must be a non-negative integer, got {pool_below!r}")
    if not isinstance(confidence_smoothing, int | float | np.number) or not confidence_smoothing >= 0:
        raise AggregationInputError(f"confidence_smoothing must be a non-negative number, got {confidence_smoothing!r}")
    pooling = pool_sparse(workers, n_workers, pool_below) if pool_below > 1 else None
    if pooling is not None:
        if init_confusion is not None:  # the previous run's matrices, with the shared annotator's as their mean
            init_confusion = pooling.compact(check_warm_start(init_confusion, None, n_workers, n_classes)[0])
        answers = np.bincount(workers, minlength=n_workers)
        workers, n_workers = pooling.workers(workers), pooling.n_pooled
    result = expectation_maximization(
        items,
        workers,
        labels,
        n_items,
        n_workers,
        n_classes,
        m_step=full_m_step,
        method="dawid_skene",
        gold=gold,
        max_iter=max_iter,
        tol=tol,
        smoothing=smoothing,
        smoothing_target=smoothing_target,
        prior_smoothing=prior_smoothing,
        init_confusion=init_confusion,
        init_prior=init_prior,
    )
    changes = {}
    if confidence_smoothing > 0 and items.size:
        cautious = expectation_maximization(
            items, workers, labels, n_items, n_workers, n_classes, m_step=full_m_step, method="dawid_skene",
            gold=gold, max_iter=max_iter, tol=tol, smoothing=confidence_smoothing, smoothing_target="crowd",
            prior_smoothing=confidence_smoothing, init_confusion=result.confusion, init_prior=result.prior,
        )  # fmt: skip
        labelled = result.label >= 0
        confidence = np.where(labelled, cautious.posterior[np.arange(n_items), np.where(labelled, result.label, 0)], 0)
        changes.update(
            posterior=cautious.posterior, confidence=confidence, confusion=cautious.confusion, prior=cautious.prior
        )
    if pooling is not None:
        changes.update(confusion=pooling.expand(changes.get("confusion", result.confusion)), answers=answers)
    if "confusion" in changes:
        changes["accuracy"] = np.einsum("wcc,c->w", changes["confusion"], changes.get("prior", result.prior))
    return replace(result, **changes) if changes else result
