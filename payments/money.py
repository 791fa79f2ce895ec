"""Money as integer minor units. Pure: no Django.

Rounding rule: converting a decimal amount to minor units must be exact; an amount with more decimal
places than the currency has (e.g. "0.125" USD, "1.5" JPY) is refused rather than silently rounded.

Range rule: an amount is at most MAX_MINOR minor units (10^12: 10,000,000,000.00 USD, 1,000,000,000,000 JPY).
Every amount is stored in a 64-bit column and summed or multiplied (reward x redundancy x microtasks) before
it is stored again, so the limit leaves those products room; anything bigger is refused, never overflowed.
"""

from decimal import Decimal, InvalidOperation, localcontext

from babel.numbers import get_currency_precision, list_currencies

# ISO 4217 also lists codes that are not money anyone is paid in: precious metals, testing and "no currency"
# codes, and units of account of development banks.
_NOT_PAYABLE = frozenset({"XAG", "XAU", "XPD", "XPT", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA", "XTS", "XXX"})
_CURRENCIES = frozenset(list_currencies()) - _NOT_PAYABLE
MAX_MINOR = 10**12
# Longer input cannot be a sensible amount; refusing it early keeps Decimal from parsing megabytes of digits.
_MAX_AMOUNT_CHARS = 40
# Decimal exponents outside this window are refused before any arithmetic, so "1e1000000" or "1e-999999999"
# never reach an operation that could overflow the decimal context.
_MAX_ADJUSTED_EXPONENT = 30


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
    """'0.25' USD -> 25. The one place money is parsed: refuses non-numbers, negative amounts (also "-0"),
    sub-minor precision and anything above MAX_MINOR minor units, always with MoneyError."""
    text = str(amount).strip()
    if len(text) > _MAX_AMOUNT_CHARS:
        raise MoneyError(f"An amount has at most {_MAX_AMOUNT_CHARS} characters.")
    if not text.isascii() or "_" in text:
        # Decimal() also reads "1_000" and digits of other scripts ("٣"); an amount is written in ASCII digits
        # with a dot, so a typo is refused rather than read as a different number.
        raise MoneyError(f"'{text}' is not a decimal amount (digits 0-9 and a dot).")
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError) as exc:
        raise MoneyError(f"'{text}' is not a decimal amount.") from exc
    if not value.is_finite():
        raise MoneyError(f"'{text}' is not a decimal amount.")
    if value.is_signed():  # also "-0" and "-0.00": a sign on an amount is a mistake, not zero
        raise MoneyError("Amounts cannot be negative.")
    exponent = currency_exponent(currency)
    if value and value.adjusted() > _MAX_ADJUSTED_EXPONENT:
        raise _too_large(currency)
    if value and value.adjusted() < -_MAX_ADJUSTED_EXPONENT:
        raise MoneyError(f"{currency.upper()} has {exponent} decimal places; '{text}' has more.")
    with localcontext() as context:
        context.prec = 2 * _MAX_ADJUSTED_EXPONENT + _MAX_AMOUNT_CHARS  # exact: no rounding inside scaleb
        scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{currency.upper()} has {exponent} decimal places; '{text}' has more.")
    minor = int(scaled)
    if minor > MAX_MINOR:
        raise _too_large(currency)
    return minor


def _too_large(currency: str) -> MoneyError:
    return MoneyError(f"Amounts are at most {from_minor(MAX_MINOR, currency)} {currency_validate(currency)}.")


def from_minor(amount_minor: int, currency: str) -> str:
    """25, 'USD' -> '0.25' (the decimal string the API speaks)."""
    exponent = currency_exponent(currency)
    value = Decimal(amount_minor).scaleb(-exponent)
    return f"{value:.{exponent}f}"
