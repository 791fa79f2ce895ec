"""Inter-annotator agreement: Krippendorff's alpha for nominal labels, from the answers given to each item.

Pure NumPy, no Django: `units` is one sequence of labels per item (missing answers simply absent, any number of
annotators per item). Items with fewer than two labels carry no information about agreement and are left out.
Formulas from Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011): the coincidence matrix
o_ck = sum over units of (pairs of c and k in the unit) / (m_u - 1), then
alpha = 1 - (n - 1) * sum_{c != k} o_ck / sum_{c != k} n_c n_k.
"""

from collections.abc import Hashable, Iterable, Sequence

import numpy as np


def krippendorff_alpha_nominal(units: Iterable[Sequence[Hashable]]) -> float | None:
    """Alpha for nominal labels; None when it is undefined (no item with two labels, or only one label ever used,
    so no disagreement could be expected)."""
    pairable = [list(values) for values in units if len(values) >= 2]
    if not pairable:
        return None
    categories = sorted({value for values in pairable for value in values}, key=repr)
    index = {value: position for position, value in enumerate(categories)}
    size = len(categories)
    coincidences = np.zeros((size, size))
    for values in pairable:
        counts = np.bincount([index[value] for value in values], minlength=size).astype(float)
        # Ordered pairs of values from different annotators: c with k (c != k) counts n_c n_k, c with c n_c (n_c - 1).
        pairs = np.outer(counts, counts) - np.diag(counts)
        coincidences += pairs / (len(values) - 1)
    totals = coincidences.sum(axis=1)
    n = totals.sum()
    observed = coincidences.sum() - np.trace(coincidences)
    expected = totals.sum() ** 2 - (totals**2).sum()
    if expected == 0:
        return None
    return float(1.0 - (n - 1.0) * observed / expected)
