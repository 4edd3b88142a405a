"""attrs validators for the client's option objects (``RetryPolicy``, ``RateLimits``).

A wrong value is a :class:`~wecom_async.ValidationError` naming the option (``model``) and the
field, like a wrong argument anywhere else in the client; it is also a ``ValueError``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from .errors import Problem, ValidationError

__all__ = [
    "MAX_INT_OPTION",
    "callable_value",
    "finite_at_least",
    "flag",
    "int_at_least",
    "int_set",
    "int_set_valid",
    "number_within",
]

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _invalid(instance: object, name: str, message: str, value: object) -> ValidationError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return ValidationError(
        [Problem(name, f"{message}, got {shown}")], model=type(instance).__name__
    )


#: The largest int option taken (10**15): beyond, float arithmetic on it could overflow.
MAX_INT_OPTION = 10**15


def _is_number(value: object) -> bool:
    """A real number (an int, a float, a Fraction, a NumPy scalar…), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def int_at_least(minimum: int) -> Validator:
    """An integer (``int``, or another ``numbers.Integral``; not a bool) from ``minimum`` to
    :data:`MAX_INT_OPTION`."""

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if (
            not isinstance(value, numbers.Integral)
            or isinstance(value, bool)
            or not minimum <= int(value) <= MAX_INT_OPTION
        ):
            message = f"must be an int from {minimum} to 10**15"
            raise _invalid(instance, attribute.name, message, value)

    return check


def finite_at_least(minimum: float) -> Validator:
    """A finite int or float (not a bool) ≥ ``minimum``."""

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not _is_number(value) or not math.isfinite(value) or value < minimum:
            raise _invalid(
                instance, attribute.name, f"must be a finite number >= {minimum:g}", value
            )

    return check


def number_within(low: float, high: float, *, open_interval: bool = False) -> Validator:
    """An int or float (not a bool) in ``[low, high]``, or ``(low, high)`` if ``open_interval``."""
    shown = f"({low:g}, {high:g})" if open_interval else f"[{low:g}, {high:g}]"

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        inside = _is_number(value) and (
            low < value < high if open_interval else low <= value <= high
        )
        if not inside:
            raise _invalid(instance, attribute.name, f"must be a number in {shown}", value)

    return check


def flag(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A bool (not 0/1: an int here is more likely a mistaken argument)."""
    if not isinstance(value, bool):
        raise _invalid(instance, attribute.name, "must be a bool", value)


def callable_value(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not callable(value):
        raise _invalid(instance, attribute.name, "must be callable", value)


def int_set(value: Iterable[int]) -> frozenset[int]:
    """Converter: any collection of ints (a set, list, tuple…) as a frozenset.

    Anything else (a str, a lone int, bools) is left as it is for :func:`int_set_valid` to
    refuse with the field's name (a converter does not know it).
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return value  # type: ignore[return-value]
    items = tuple(value)
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in items):
        return value  # type: ignore[return-value]
    return frozenset(items)


def int_set_valid(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, frozenset):
        raise _invalid(instance, attribute.name, "must be a collection of ints", value)
