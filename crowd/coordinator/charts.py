"""Charts drawn on the server as SVG: the coordinator's pages need no charting library and load nothing from
elsewhere. Pure geometry: values in, rectangles out; the templates draw them."""

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: float
    label: str


def bar_chart(values: Sequence[float], labels: Sequence[str], *, width: int = 600, height: int = 120) -> list[Bar]:
    """One bar per value, side by side, scaled so the largest fills the height (an empty chart stays flat)."""
    if not values:
        return []
    top = max(max(values), 1e-9)
    slot = width / len(values)
    gap = min(2.0, slot * 0.2)
    bars = []
    for position, (value, label) in enumerate(zip(values, labels, strict=True)):
        tall = height * (value / top) if value > 0 else 0.0
        bars.append(Bar(position * slot + gap / 2, height - tall, slot - gap, tall, value, label))
    return bars


def histogram(values: Sequence[float], *, low: float = 0.0, high: float = 1.0, bins: int = 10) -> list[int]:
    """Counts of `values` in `bins` equal bins from `low` to `high` (the top edge belongs to the last bin)."""
    counts = [0] * bins
    span = (high - low) / bins
    for value in values:
        if value < low or value > high:
            continue
        counts[min(int((value - low) / span), bins - 1)] += 1
    return counts
