"""Money as integer minor units. Pure: no Django.

Rounding rule: converting a decimal amount to minor units must be exact; an amount with more decimal
places than the currency has (e.g. "0.125" USD, "1.5" JPY) is refused rather than silently rounded.
"""

from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision, list_currencies

_CURRENCIES = frozenset(list_currencies())
# Amounts are stored in signed 64-bit columns: anything larger is refused as input, never left to overflow.
MAX_MINOR = 2**63 - 1


class MoneyError(ValueError):
    pass


def currency_validate(code: str) -> str:
    upper = (code or "").strip().upper()
    if len(upper) != 3 or upper not in _CURRENCIES:
        raise MoneyError(f"'{code}' is not an ISO 4217 currency code.")
    return upper


def currency_exponent(code: str) -> int:
    return get_currency_precision(currency_validate(code))


def to_minor(amount: str | Decimal | int, currency: str) -> int:
    """'0.25' USD -> 25; refuses negative amounts, non-numbers and sub-minor precision."""
    try:
        value = Decimal(str(amount).strip())
    except (InvalidOperation, ValueError) as exc:
        raise MoneyError(f"'{amount}' is not a decimal amount.") from exc
    if not value.is_finite():
        raise MoneyError(f"'{amount}' is not a decimal amount.")
    if value < 0:
        raise MoneyError("Amounts cannot be negative.")
    # Checked on the exponent first: scaling "1e1000000" would overflow the decimal context itself.
    if value and (value.adjusted() > 30 or value.scaleb(currency_exponent(currency)) > MAX_MINOR):
        raise MoneyError("The amount is too large.")
    scaled = value.scaleb(currency_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{currency.upper()} has {currency_exponent(currency)} decimal places; '{amount}' has more.")
    return int(scaled)


def from_minor(amount_minor: int, currency: str) -> str:
    """25, 'USD' -> '0.25' (the decimal string the API speaks)."""
    exponent = currency_exponent(currency)
    value = Decimal(amount_minor).scaleb(-exponent)
    return f"{value:.{exponent}f}"
