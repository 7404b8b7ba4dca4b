"""Exact numbers for the guard language: arithmetic on ``int`` and ``fractions.Fraction``.

A float that comes from data (JSON, YAML) or from a literal counts as the decimal it was written as:
its shortest ``repr`` (3.6 is 36/10, not the binary float nearest to it). Integers stay integers;
``/`` and ``mean`` give a ``Fraction``. Comparisons that involve no arithmetic keep the plain values:
shortest-repr decimals order exactly as the floats they round to, so they need no conversion.
Results never leave the guard language as ``Fraction``: computed ``set`` values go through ``to_data``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from fractions import Fraction
from functools import lru_cache
from typing import Any

#: what the exact arithmetic yields: never a float
Exact = int | Fraction

_DIGITS = 6  # decimals shown for a number whose decimal expansion does not end


@lru_cache(maxsize=4096)
def _from_float(v: float) -> Fraction:
    return Fraction(repr(v))  # 'nan' and 'inf' raise ValueError: unknown, so the guard is false


def exact(v: Any) -> Any:
    """``v`` as an exact number if it is a float; anything else unchanged."""
    return _from_float(v) if type(v) is float else v


def num(v: Any) -> Exact:
    """``v`` as an exact number, or TypeError: text, lists and booleans are not numbers here."""
    t = type(v)
    if t is int or t is Fraction:
        return v  # type: ignore[no-any-return]
    if t is float:
        return _from_float(v)
    raise TypeError("not a number")


def add(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:  # whole numbers: already exact, and the cheapest case
        return a + b
    if type(a) is str and type(b) is str:  # an 'any'-typed operand: text + text still joins
        return a + b
    return num(a) + num(b)


def sub(a: Any, b: Any) -> Exact:
    if type(a) is int and type(b) is int:
        return a - b
    return num(a) - num(b)


def mul(a: Any, b: Any) -> Exact:
    if type(a) is int and type(b) is int:
        return a * b
    return num(a) * num(b)


def div(a: Any, b: Any) -> Fraction:
    return Fraction(num(a)) / num(b)  # by zero: ZeroDivisionError, so unknown


def floordiv(a: Any, b: Any) -> int:
    return num(a) // num(b)


def mod(a: Any, b: Any) -> Exact:
    return num(a) % num(b)


def neg(a: Any) -> Exact:
    return -num(a)


def total(xs: Iterable[Any]) -> Exact:
    """``sum``: exact; a list of integers sums to an integer."""
    out: Exact = 0
    for x in xs:
        out += num(x)
    return out


def mean(xs: Any) -> Fraction:
    return Fraction(total(xs), len(xs))  # an empty list: ZeroDivisionError, so unknown


def round_(x: Any, ndigits: int | None = None) -> Exact:
    """Half to even, on the exact value: round(2.675, 2) is 2.68 (the binary float would give 2.67)."""
    if ndigits is None:
        return round(num(x))
    if not (type(ndigits) is int and -300 <= ndigits <= 300):
        raise ValueError("ndigits out of range")  # round(5, -10**9) would compute 10**10**9
    v = num(x)
    return round(v, ndigits) if type(v) is int else round(Fraction(v), ndigits)


def absolute(x: Any) -> Exact:
    v = num(x)
    return -v if v < 0 else v


def smallest(*args: Any) -> Any:
    return min(_items(args))  # an empty list: ValueError, so unknown


def largest(*args: Any) -> Any:
    return max(_items(args))


def _items(args: tuple[Any, ...]) -> list[Exact]:
    values = args[0] if len(args) == 1 else args
    return [num(v) for v in values]


EXACT_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sum": total, "mean": mean, "round": round_, "abs": absolute, "min": smallest, "max": largest}


def decimal_text(v: Fraction) -> str:
    """A number as a reader expects it: '2', '1.9', '-0.25'; '0.333333… (1/3)' when it does not end."""
    if v.denominator == 1:
        return str(v.numerator)
    d, twos, fives = v.denominator, 0, 0
    while d % 2 == 0:
        d, twos = d // 2, twos + 1
    while d % 5 == 0:
        d, fives = d // 5, fives + 1
    if d == 1:
        places = max(twos, fives)
        return _fixed(v, places)
    return f"{_fixed(v, _DIGITS)}… ({v.numerator}/{v.denominator})"


def _fixed(v: Fraction, places: int) -> str:
    sign = "-" if v < 0 else ""
    scaled = abs(v) * 10**places
    whole = scaled.numerator // scaled.denominator  # truncated: '0.333333…' shows the digits it has
    text = str(whole).rjust(places + 1, "0")
    return f"{sign}{text[:-places]}.{text[-places:]}" if places else sign + text


def to_data(v: Any, integer: bool) -> Any:
    """A computed number as stored data: an int, or the float nearest to it (its repr is the decimal
    when the decimal has at most 15 significant digits); TypeError when an integer field gets a fraction."""
    if type(v) is Fraction:
        if v.denominator == 1:
            return v.numerator
        if integer:
            raise TypeError(f"{decimal_text(v)} is not a whole number")
        return float(v)
    if isinstance(v, list | tuple):  # a computed list: its items as data too
        return [to_data(x, integer) for x in v]
    return v


__all__ = ["EXACT_FUNCTIONS", "Exact", "absolute", "add", "decimal_text", "div", "exact", "floordiv", "largest",
           "mean", "mod", "mul", "neg", "num", "round_", "smallest", "sub", "to_data", "total"]
