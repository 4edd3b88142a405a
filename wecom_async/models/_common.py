"""Pieces shared by the models: tolerant IntEnums and Unix-time helpers."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from ..errors import Problem, ValidationError
from ._validation import describe

__all__ = ["WireIntEnum", "from_unix", "id_tuple", "reject_str", "to_unix", "tz_from_offset"]

#: Documented default timezone of schedules: UTC+8 (Beijing).
DEFAULT_TZ_OFFSET = 8

_TZ_CACHE: dict[int, timezone] = {}


class WireIntEnum(enum.IntEnum):
    """An IntEnum that keeps values WeCom adds later instead of failing the whole response.

    ``RepeatType(3)`` gives a pseudo-member named ``UNKNOWN_3`` that still compares equal to 3, so a
    new value sent by WeCom is carried through decoding and back to the wire unchanged.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            member = int.__new__(cls, value)
            member._name_ = f"UNKNOWN_{value}"
            member._value_ = value
            return member
        return None


def tz_from_offset(hours: int) -> timezone:
    """A fixed-offset timezone for a WeCom ``timezone`` value (hours east of UTC)."""
    tz = _TZ_CACHE.get(hours)
    if tz is None:
        tz = _TZ_CACHE[hours] = timezone(timedelta(hours=hours))
    return tz


def from_unix(seconds: int, tz_offset_hours: int = DEFAULT_TZ_OFFSET) -> datetime:
    """Unix seconds → an aware datetime in the given UTC offset."""
    return datetime.fromtimestamp(seconds, tz_from_offset(tz_offset_hours))


def to_unix(value: int | datetime) -> int:
    """Unix seconds, or an aware datetime → Unix seconds. Naive datetimes raise ``ValueError``."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime: give a timezone-aware datetime or Unix seconds")
        return int(value.timestamp())
    return value


def reject_str(name: str, values: object) -> None:
    """A single string where a list of IDs belongs would be sent one character per ID.

    Raises :class:`~wecom_async.ValidationError` (nothing is sent) naming the argument, as for
    ``None`` or anything else that is not an iterable.
    """
    if isinstance(values, (str, bytes)):
        message = f"takes a list of IDs, not a single string: {name}=[{values!r}]"
    elif not (hasattr(values, "__iter__") or hasattr(values, "__aiter__")):
        message = f"must be a list of IDs, got {describe(values)}"
    else:
        return
    raise ValidationError([Problem(name, message)], model=f"{name} argument")


def id_tuple(name: str, values: Iterable[str]) -> tuple[str, ...]:
    """A list of IDs as a tuple; a single string or a non-iterable is a ``ValidationError``.

    The IDs' own types are checked by the request's ``validate`` (each with its index).
    """
    reject_str(name, values)
    return tuple(values)
