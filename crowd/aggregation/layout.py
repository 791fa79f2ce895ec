"""Answers in "jagged diagonal" order for the EM loop of crowd/aggregation/dawid_skene.py (pure NumPy).

Items sorted by answer count (descending), then slot j holds the j-th answer of every item that has more than j
answers, so a per-item sum over answers is one contiguous vector add per slot (max answers per item, not per
answer). Shapes: items, workers, labels (n,); `code` (n,) = worker * K + label in that order; `order` (P,) the
item at each position (answered items only).
"""

import numpy as np


class Layout:
    """Answers in jagged-diagonal order (see module docstring), built once per run: O(n log n) for one argsort."""

    def __init__(self, items: np.ndarray, workers: np.ndarray, labels: np.ndarray, n_items: int, n_classes: int):
        self.n_answers = items.size
        counts = np.bincount(items, minlength=n_items)
        answered = np.flatnonzero(counts)
        # Items with the most answers first, so slot j covers positions [0, slot_sizes[j]).
        self.order = answered[np.argsort(-counts[answered], kind="stable")]  # (P,) item at each position
        position = np.empty(n_items, dtype=np.intp)
        position[self.order] = np.arange(self.order.size)
        sorted_counts = counts[self.order]
        max_count = int(sorted_counts[0]) if sorted_counts.size else 0
        # slot_sizes[j] = number of items with more than j answers
        self.slot_sizes = [int(m) for m in np.searchsorted(-sorted_counts, -np.arange(max_count), side="left")]
        offsets = np.zeros(max_count + 1, dtype=np.intp)
        np.cumsum(self.slot_sizes, out=offsets[1:])
        self.offsets = [int(o) for o in offsets]
        answer_position = position[items]
        by_position = np.argsort(answer_position)  # any order within an item will do
        group_start = np.zeros(self.order.size + 1, dtype=np.intp)
        np.cumsum(sorted_counts, out=group_start[1:])
        sorted_position = answer_position[by_position]
        slot = np.arange(items.size) - group_start[sorted_position]
        destination = offsets[slot] + sorted_position
        self.code = np.empty(items.size, dtype=np.intp)  # (n,) worker * K + label, jagged-diagonal order
        self.code[destination] = (workers * n_classes + labels)[by_position]

    def segments(self):
        return zip(self.offsets[:-1], self.slot_sizes, strict=True)

    def per_position_sum(self, per_answer: np.ndarray, out: np.ndarray) -> np.ndarray:
        """out[:, p] = Σ over answers of the item at position p of per_answer[:, answer]; per_answer is (K, n)."""
        first = True
        for offset, size in self.segments():
            if first:
                out[:, :size] = per_answer[:, offset : offset + size]
                first = False
            else:
                out[:, :size] += per_answer[:, offset : offset + size]
        return out

    def broadcast(self, per_position: np.ndarray, out: np.ndarray) -> np.ndarray:
        """out[:, answer] = per_position[:, position of the answer's item]; the transpose of per_position_sum."""
        for offset, size in self.segments():
            out[:, offset : offset + size] = per_position[:, :size]
        return out
