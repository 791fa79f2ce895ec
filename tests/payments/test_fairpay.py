"""Fair-pay arithmetic (pure) and the pay-floor selectors."""

import datetime as dt
from decimal import Decimal

import pytest

from payments.fairpay import (
    FairPayError,
    convert_minor,
    hourly_rate_minor,
    median,
    pay_needed_minor,
    percentile,
    topup_minor,
    topups_within_budget,
    wage_report,
)
from payments.models import ExchangeRate, PayFloor
from payments.selectors import MissingExchangeRate, exchange_rate, highest_floor


def test_hourly_rate_is_exact_and_time_below_a_second_counts_as_one():
    assert hourly_rate_minor(pay_minor=10, seconds=45) == 800  # 0.10 per 45 s = 8.00 an hour
    assert hourly_rate_minor(pay_minor=10, seconds=0) == 36000
    with pytest.raises(FairPayError):
        hourly_rate_minor(pay_minor=-1, seconds=10)


def test_pay_needed_and_topup_round_up_in_the_workers_favour():
    assert pay_needed_minor(hourly_minor=800, seconds=45) == 10
    assert pay_needed_minor(hourly_minor=800, seconds=46) == 11  # 10.22 -> 11, never 10
    assert topup_minor(hourly_minor=800, seconds=90, paid_minor=10) == 10
    assert topup_minor(hourly_minor=800, seconds=30, paid_minor=10) == 0  # already above: no negative top-up


def test_convert_minor_rounds_up_and_respects_exponents():
    assert convert_minor(amount_minor=800, rate=Decimal("129.1"), from_exponent=2, to_exponent=2) == 103280
    assert convert_minor(amount_minor=800, rate=Decimal("150.333"), from_exponent=2, to_exponent=0) == 1203  # JPY
    assert convert_minor(amount_minor=1, rate=Decimal("0.5"), from_exponent=2, to_exponent=2) == 1  # 0.5 -> 1
    with pytest.raises(FairPayError):
        convert_minor(amount_minor=1, rate=Decimal(0), from_exponent=2, to_exponent=2)


def test_percentiles_interpolate_and_refuse_empty_input():
    assert median([1, 3, 2]) == 2
    assert median([1, 2, 3, 4]) == 2.5
    assert percentile([10, 20, 30, 40, 50], 0.1) == pytest.approx(14)
    with pytest.raises(FairPayError):
        median([])


def test_wage_report_against_a_floor():
    report = wage_report(pay_minor=[10, 10, 10, 10], seconds=[30, 45, 60, 90], floor_hourly_minor=800)
    assert report.submissions == 4
    assert report.median_hourly_minor == pytest.approx((800 + 600) / 2)
    assert report.share_below_floor == 0.5
    assert wage_report(pay_minor=[], seconds=[], floor_hourly_minor=800).submissions == 0


@pytest.mark.django_db
def test_highest_floor_takes_the_pools_countries_and_converts():
    PayFloor.objects.create(
        country="KE", hourly_minor=110000, currency="KES", source="test", effective_from=dt.date(2025, 1, 1)
    )
    ExchangeRate.objects.create(base="USD", quote="KES", rate=Decimal("129.00"), as_of=dt.date(2026, 1, 1))
    # The default global floor (USD 8.00) is 1,032.00 KES; Kenya's 1,100.00 KES is higher.
    assert highest_floor(countries=["KE"], currency="KES").hourly_minor == 110000
    assert highest_floor(countries=["UG"], currency="KES").hourly_minor == 103200
    assert highest_floor(countries=["KE"], currency="USD").hourly_minor == 853  # 1,100 KES / 129, rounded up


@pytest.mark.django_db
def test_exchange_rate_inverse_latest_and_missing():
    ExchangeRate.objects.create(base="EUR", quote="USD", rate=Decimal("1.25"), as_of=dt.date(2026, 1, 1))
    ExchangeRate.objects.create(base="EUR", quote="USD", rate=Decimal("1.10"), as_of=dt.date(2026, 6, 1))
    assert exchange_rate(base="EUR", quote="USD") == Decimal("1.10")
    assert exchange_rate(base="EUR", quote="USD", on=dt.date(2026, 2, 1)) == Decimal("1.25")
    assert exchange_rate(base="USD", quote="EUR").quantize(Decimal("0.0001")) == Decimal("0.9091")
    with pytest.raises(MissingExchangeRate):
        exchange_rate(base="USD", quote="JPY")


def test_topups_within_budget_pays_whole_top_ups_in_order_while_funds_last():
    plan = topups_within_budget(owed=[(1, 30), (2, 0), (3, 50), (4, 20), (5, -5)], budget_minor=60)
    assert plan.paid == [(1, 30), (4, 20)]  # 50 does not fit after 30; the 20 after it does
    assert (plan.paid_minor, plan.owed_minor) == (50, 50)


def test_topups_within_budget_pays_nothing_from_no_or_negative_funds():
    for budget in (0, -100):
        plan = topups_within_budget(owed=[(1, 10)], budget_minor=budget)
        assert (plan.paid, plan.paid_minor, plan.owed_minor) == ([], 0, 10)
