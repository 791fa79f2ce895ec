"""Free-text answers: normalized exact-match vote (pure Python/NumPy, no Django).

Two answers agree when their normalized forms are equal. Normalization (`normalize_text`), in order:
Unicode NFKC (compatibility forms fold: full-width letters, ligatures, "①" → "1"), case folding (`str.casefold`,
so "Straße" and "STRASSE" agree), NFKC again (case folding can un-normalize a few characters), then
whitespace trimmed at both ends and every inner run of Unicode whitespace collapsed to one space. Nothing else
is touched: punctuation, accents and digits still count.

Per item the most frequent normalized answer wins. Tie rule (deterministic, independent of answer order): the
normalized text that sorts first (code-point order) wins. `display` gives the winner's most frequent original
spelling (ties: the one that sorts first), for showing to people.

Shapes: `items` (n,) ints in [0, n_items); `texts` n strings. Per item results have length n_items; items
without answers get label None, confidence 0 and an empty vote dict. Empty answers (blank after
normalization) are votes like any other ("" can win). Bad input raises AggregationInputError.
"""

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crowd.aggregation.dawid_skene import AggregationInputError, as_index_array


def normalize_text(text: str) -> str:
    """NFKC, casefold, NFKC, trim, collapse inner whitespace to single spaces."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(folded.split())


@dataclass(frozen=True, eq=False)
class FreeTextResult:
    label: list  # (n_items,) winning normalized text, None without answers
    display: list  # (n_items,) the winner's most frequent original spelling, None without answers
    confidence: np.ndarray  # (n_items,) float64 winner's share of the item's answers, 0 without answers
    votes: list  # (n_items,) dict normalized text -> count
    answers: np.ndarray  # (n_items,) int64 number of answers


def _winners(keys: np.ndarray, groups: np.ndarray, n_groups: int):
    """For (group, key) pairs: per group the most frequent key (smallest key on ties), its count, all counts."""
    pair, count = np.unique(np.stack([groups, keys]), axis=1, return_counts=True)
    group_of_pair, key_of_pair = pair
    # best first within each group: highest count, then smallest key
    order = np.lexsort((key_of_pair, -count, group_of_pair))
    first = np.ones(order.size, dtype=bool)
    first[1:] = group_of_pair[order][1:] != group_of_pair[order][:-1]
    best = order[first]
    winner = np.full(n_groups, -1, dtype=np.int64)
    winner_count = np.zeros(n_groups, dtype=np.int64)
    winner[group_of_pair[best]] = key_of_pair[best]
    winner_count[group_of_pair[best]] = count[best]
    return winner, winner_count, (group_of_pair, key_of_pair, count)


def free_text_vote(items, texts: Sequence[str], n_items: int) -> FreeTextResult:
    """Normalized exact-match majority over free-text answers (see the module docstring)."""
    if not isinstance(n_items, int | np.integer) or n_items < 0:
        raise AggregationInputError(f"n_items must be a non-negative integer, got {n_items!r}")
    items = as_index_array("items", items, n_items)
    if len(texts) != items.size:
        raise AggregationInputError(f"items and texts must have the same length, got {items.size} and {len(texts)}")
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            raise AggregationInputError(f"texts[{position}] is {type(text).__name__}, not str")
    answers = np.bincount(items, minlength=n_items).astype(np.int64)
    label: list = [None] * n_items
    display: list = [None] * n_items
    votes: list = [{} for _ in range(n_items)]
    confidence = np.zeros(n_items)
    if not items.size:
        return FreeTextResult(label, display, confidence, votes, answers)
    normalized = [normalize_text(t) for t in texts]
    # Codes in sorted order, so the smallest code is the text that sorts first (the tie rule).
    distinct = sorted(set(normalized))
    code_of = {text: code for code, text in enumerate(distinct)}
    codes = np.fromiter((code_of[t] for t in normalized), dtype=np.int64, count=len(normalized))
    winner, winner_count, (pair_item, pair_code, pair_count) = _winners(codes, items, n_items)
    for item, code, count in zip(pair_item.tolist(), pair_code.tolist(), pair_count.tolist(), strict=True):
        votes[item][distinct[code]] = count
    answered = np.flatnonzero(winner >= 0)
    confidence[answered] = winner_count[answered] / answers[answered]
    for item in answered.tolist():
        label[item] = distinct[winner[item]]
    # Display spelling: among the answers equal to the winner, the most frequent original text.
    agrees = np.flatnonzero(codes == winner[items])
    spellings = sorted({texts[a] for a in agrees.tolist()})
    spelling_code = {text: code for code, text in enumerate(spellings)}
    raw_codes = np.fromiter((spelling_code[texts[a]] for a in agrees.tolist()), dtype=np.int64, count=agrees.size)
    best_spelling, _, _ = _winners(raw_codes, items[agrees], n_items)
    for item in answered.tolist():
        display[item] = spellings[best_spelling[item]]
    return FreeTextResult(label, display, confidence, votes, answers)
