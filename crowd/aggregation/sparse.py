"""Annotators with too few answers share one confusion matrix (pure NumPy, no Django).

Under maximum-likelihood Dawid & Skene (1979) a single answer fits every row of the annotator's matrix perfectly,
so a one-answer annotator carries no evidence at all and a crowd of one-answer workers is ignored. Pooling such
annotators into one shared annotator lets their answers count at the accuracy they show together, while every
other annotator keeps a matrix of its own, estimated exactly as plain maximum likelihood would. The threshold is
`pool_below` of `dawid_skene` (default 2: only one-answer annotators; pooling up to the number of classes was
tried and lost a little more on real crowds, see docs/aggregation.md).

Shapes (n answers, W annotators, W' = annotators after pooling, K classes):
    workers   (n,)  annotator of each answer, in [0, W)
    codes     (W,)  pooled index of each annotator, in [0, W'); annotators with enough answers keep their order
    shared    (W,)  bool: the annotator uses the shared matrix (index W' - 1)
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Pooling:
    codes: np.ndarray  # (W,) int
    shared: np.ndarray  # (W,) bool
    n_pooled: int  # W'

    def workers(self, workers: np.ndarray) -> np.ndarray:
        """(n,) pooled annotator index of each answer."""
        return self.codes[workers]

    def compact(self, confusion: np.ndarray) -> np.ndarray:
        """(W, K, K) per-annotator matrices → (W', K, K): the shared row is the mean of its members' matrices."""
        pooled = np.empty((self.n_pooled, *confusion.shape[1:]))
        pooled[self.codes[~self.shared]] = confusion[~self.shared]
        pooled[-1] = confusion[self.shared].mean(axis=0)
        return pooled

    def expand(self, confusion: np.ndarray) -> np.ndarray:
        """(W', K, K) → (W, K, K): every member of the shared annotator gets its matrix."""
        return confusion[self.codes]


def pool_sparse(workers: np.ndarray, n_workers: int, pool_below: int) -> Pooling | None:
    """Pool the annotators with fewer than `pool_below` answers (those with none included: they get the shared
    matrix too); None when fewer than two annotators that answered would share, which changes nothing."""
    answers = np.bincount(workers, minlength=n_workers)
    shared = answers < pool_below
    if np.count_nonzero(shared & (answers > 0)) < 2:
        return None
    kept = np.flatnonzero(~shared)
    codes = np.full(n_workers, kept.size, dtype=np.intp)
    codes[kept] = np.arange(kept.size)
    return Pooling(codes=codes, shared=shared, n_pooled=kept.size + 1)
