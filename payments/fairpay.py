"""Fair-pay arithmetic: hourly rates, pay floors, currency conversion, top-ups. Pure: no Django.

Money is integer minor units. Rounding rules (each in the worker's favour where a worker is paid):
- an hourly rate is exact (a float in minor units per hour), compared with the floor without rounding;
- converting a floor into another currency rounds UP to the next minor unit (the floor never shrinks);
- the pay a microtask needs to meet a floor rounds UP to the next minor unit;
- a top-up is that need minus what was paid, never negative;
- top-ups are paid whole, in order, while the organization's funds last; one that does not fit stays owed.
Time below one second counts as one second (no division by zero, no infinite rates).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

SECONDS_PER_HOUR = 3600


class FairPayError(ValueError):
    pass


@dataclass(frozen=True)
class Floor:
    hourly_minor: int
    currency: str
    country: str = ""  # "" for the global floor
    source: str = ""


def hourly_rate_minor(*, pay_minor: int, seconds: float) -> float:
    """What a payment over a time on task is worth per hour, in the same minor units."""
    if pay_minor < 0:
        raise FairPayError("Pay cannot be negative.")
    return pay_minor * SECONDS_PER_HOUR / max(seconds, 1.0)


def convert_minor(
    *, amount_minor: int, rate: Decimal, from_exponent: int, to_exponent: int, rounding: str = ROUND_CEILING
) -> int:
    """Convert minor units with `rate` (1 unit of the source buys `rate` units of the target). Rounds up."""
    if rate <= 0:
        raise FairPayError("An exchange rate must be positive.")
    major = Decimal(amount_minor).scaleb(-from_exponent) * rate
    return int(major.scaleb(to_exponent).to_integral_value(rounding=rounding))


def measured_seconds(active_seconds: float, seconds_on_task: float | None) -> float:
    """Time on task: the active time the worker page measured (heartbeats) when there is some, else the
    server's lease-to-submit time."""
    return active_seconds if active_seconds > 0 else (seconds_on_task or 0.0)


def pay_needed_minor(*, hourly_minor: int, seconds: float) -> int:
    """The least pay (rounded up) that meets an hourly floor over `seconds` of work."""
    return math.ceil(hourly_minor * max(seconds, 1.0) / SECONDS_PER_HOUR)


def topup_minor(*, hourly_minor: int, seconds: float, paid_minor: int) -> int:
    """What brings a payment up to the floor for that time; 0 when it already meets it."""
    return max(pay_needed_minor(hourly_minor=hourly_minor, seconds=seconds) - paid_minor, 0)


@dataclass(frozen=True)
class TopupPlan:
    paid: list[tuple[int, int]]  # (assignment id, amount) to pay now, in order
    paid_minor: int
    owed_minor: int  # what did not fit in the budget, paid by a later check


def topups_within_budget(*, owed: Sequence[tuple[int, int]], budget_minor: int) -> TopupPlan:
    """Pay each (assignment id, owed amount) in order while `budget_minor` lasts. A top-up is never split (a
    worker sees one top-up per assignment and target) and never pushes spending past the budget; a smaller
    one later in the list may still fit. Amounts of zero or less owe nothing."""
    paid: list[tuple[int, int]] = []
    total = unpaid = 0
    for key, amount in owed:
        if amount <= 0:
            continue
        if total + amount > budget_minor:
            unpaid += amount
            continue
        paid.append((key, amount))
        total += amount
    return TopupPlan(paid, total, unpaid)


def percentile(values: Sequence[float], share: float) -> float:
    """Linear-interpolated percentile (share in 0..1) of a non-empty sequence."""
    if not values:
        raise FairPayError("No values.")
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 0.5)


@dataclass(frozen=True)
class WageReport:
    median_hourly_minor: float
    p10_hourly_minor: float
    p25_hourly_minor: float
    share_below_floor: float
    submissions: int


def wage_report(*, pay_minor: Sequence[int], seconds: Sequence[float], floor_hourly_minor: int) -> WageReport:
    """Effective hourly wages of submissions (pay over measured time) against a floor."""
    if len(pay_minor) != len(seconds):
        raise FairPayError("One time per payment.")
    rates = [hourly_rate_minor(pay_minor=p, seconds=s) for p, s in zip(pay_minor, seconds, strict=True)]
    if not rates:
        return WageReport(0.0, 0.0, 0.0, 0.0, 0)
    below = sum(rate < floor_hourly_minor for rate in rates) / len(rates)
    return WageReport(median(rates), percentile(rates, 0.1), percentile(rates, 0.25), below, len(rates))
