"""Money as integer minor units (pure, no database): exact conversion or a refusal, never rounding."""

from decimal import Decimal

import pytest

from payments.money import MoneyError, currency_exponent, currency_validate, from_minor, to_minor


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("0.25", "USD", 25),
        ("12", "USD", 1200),
        ("12.5", "EUR", 1250),
        (" 1.10 ", "KES", 110),
        (Decimal("0.01"), "USD", 1),
        (3, "USD", 300),
        ("0", "USD", 0),
        ("1500", "JPY", 1500),
        ("1500.0", "JPY", 1500),
        ("1.234", "KWD", 1234),  # three decimals
        ("1e2", "USD", 10000),
    ],
)
def test_to_minor_converts_exactly(amount, currency, minor):
    assert to_minor(amount, currency) == minor
    assert isinstance(to_minor(amount, currency), int)


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [(25, "USD", "0.25"), (0, "USD", "0.00"), (1200, "usd", "12.00"), (1500, "JPY", "1500"), (1234, "KWD", "1.234")],
)
def test_from_minor_formats_with_the_currency_exponent(minor, currency, text):
    assert from_minor(minor, currency) == text


@pytest.mark.parametrize("currency", ["USD", "JPY", "KWD", "KES"])
def test_money_round_trip(currency):
    for minor in (0, 1, 99, 100, 123456789):
        assert to_minor(from_minor(minor, currency), currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency"), [("0.125", "USD"), ("1.5", "JPY"), ("0.001", "EUR"), ("1.2345", "KWD")]
)
def test_to_minor_refuses_more_decimals_than_the_currency_has(amount, currency):
    with pytest.raises(MoneyError, match="decimal places"):
        to_minor(amount, currency)


@pytest.mark.parametrize("amount", ["-0.01", "-1", -5])
def test_to_minor_refuses_negative_amounts(amount):
    with pytest.raises(MoneyError, match="negative"):
        to_minor(amount, "USD")


@pytest.mark.parametrize(
    "amount", ["", "abc", "1,50", "NaN", "Infinity", "-Infinity", None, "1_000", "\u0663", "\uff11\uff12"]
)
def test_to_minor_refuses_non_numbers(amount):
    with pytest.raises(MoneyError):
        to_minor(amount, "USD")


@pytest.mark.parametrize("currency", ["XYZ", "US", "USDX", "", "dollars", None, "XXX", "XAU", "XTS"])
def test_unknown_currency_is_refused(currency):
    with pytest.raises(MoneyError):
        currency_validate(currency)
    with pytest.raises(MoneyError):
        to_minor("1.00", currency)
    with pytest.raises(MoneyError):
        from_minor(100, currency)


def test_currency_validate_normalizes_case_and_space():
    assert currency_validate(" usd ") == "USD"
    assert (currency_exponent("USD"), currency_exponent("JPY"), currency_exponent("KWD")) == (2, 0, 3)
