"""Number helpers shared by the distributions and the variant rules.

Lattices (``low + k·step``) are computed in decimal arithmetic from the shortest ``repr`` of
their floats, then converted back once. That is why ``0 + 7 × 0.05`` comes out as ``0.35``
and not ``0.35000000000000003``, and why ``0.8 → 0.9`` by ``0.01`` has exactly 11 points:
users write decimal numbers and expect decimal answers.
"""

from __future__ import annotations

import math
from decimal import Context, Decimal
from typing import Any

#: Scalars a categorical choice, a fixed value or a variant item may be.
SCALAR_TYPES = (str, int, float, bool)

#: Relative slack when deciding whether a value lies on a bound or a lattice point; absorbs
#: the noise of values that went through float arithmetic or a text round-trip.
TOLERANCE = 1e-9

_CONTEXT = Context(prec=60)


def is_number(value: Any) -> bool:
    """True for ints and floats; ``bool`` is not a number here (``True == 1`` is a trap)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_integral(value: Any) -> bool:
    """True for ints and for floats with no fractional part (``3.0``), never for bools."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value) and value.is_integer()


def is_scalar(value: Any) -> bool:
    """True for the JSON scalars a parameter value may be (finite numbers, str, bool)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, SCALAR_TYPES)


def same_value(a: Any, b: Any) -> bool:
    """Equality that keeps ``True`` apart from ``1`` and ``"1"`` apart from ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_number(a) and is_number(b):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def to_decimal(value: float) -> Decimal:
    """The decimal the user most likely meant: the shortest text that reads back as ``value``."""
    return Decimal(repr(float(value))) if isinstance(value, float) else Decimal(int(value))


def lattice_size(low: float, high: float, step: float) -> int:
    """How many points ``low + k·step`` (``k = 0, 1, …``) lie in ``[low, high]``; at least 1."""
    span = _CONTEXT.divide(_CONTEXT.subtract(to_decimal(high), to_decimal(low)), to_decimal(step))
    # The slack lets a bound that went through float noise (0.30000000000000004) still count.
    return max(0, math.floor(float(span) + TOLERANCE)) + 1


def lattice_value(low: float, step: float, k: int) -> float:
    """The ``k``-th lattice point ``low + k·step``, computed exactly and rounded once."""
    exact = _CONTEXT.add(to_decimal(low), _CONTEXT.multiply(Decimal(k), to_decimal(step)))
    return float(exact)


def lattice_index(value: float, low: float, step: float, size: int) -> int:
    """The index of the lattice point nearest ``value``, clipped to ``0 … size - 1``."""
    k = round((value - low) / step)
    return min(max(k, 0), size - 1)


def on_lattice(value: float, low: float, step: float, size: int) -> bool:
    """True when ``value`` is (within float noise) one of the ``size`` lattice points."""
    point = lattice_value(low, step, lattice_index(value, low, step, size))
    return math.isclose(value, point, rel_tol=TOLERANCE, abs_tol=abs(step) * TOLERANCE)


def clean_float(value: float) -> float:
    """Drop the last bits of noise of a computed float (``10 ** 0.3``): 15 significant digits.

    Fifteen digits are what a double always holds exactly, so this never changes a value the
    user wrote, only the trailing ``…0000002`` that ``pow`` and ``linspace`` leave behind.
    """
    if value == 0 or not math.isfinite(value):
        return value
    return float(f"{value:.15g}")


def within(value: float, low: float, high: float) -> bool:
    """``low <= value <= high`` with a relative slack for float noise at the bounds."""
    slack = TOLERANCE * max(abs(low), abs(high), 1e-300)
    return low - slack <= value <= high + slack


def plain(value: Any) -> Any:
    """``value`` as a plain Python scalar (numpy scalars become ``int``/``float``/``bool``)."""
    if type(value) in SCALAR_TYPES:
        return value
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError):  # e.g. an array of several values: not a scalar
            return value
    return value


def format_number(value: float) -> str:
    """A short, unambiguous rendering of a number for messages (``1e-05``, ``0.35``, ``3``)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)
