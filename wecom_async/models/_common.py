"""Pieces shared by the models: tolerant IntEnums, Unix-time helpers, untracked models."""

from __future__ import annotations

import enum
import typing
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import attrs
import msgspec

from ..errors import Problem, ValidationError
from ._validation import describe

__all__ = [
    "WireIntEnum",
    "from_unix",
    "id_tuple",
    "reject_str",
    "to_unix",
    "tz_from_offset",
    "untracked",
]

T = TypeVar("T")

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


def untracked(cls: type[T]) -> type[T]:
    """The frozen attrs class *cls*, rebuilt as a msgspec Struct the garbage collector never tracks.

    For the parts of answers held by the hundred thousand (a held schedule was ~3 tracked
    objects: the collector's passes over a growing ``get_many`` result cost ~40 % of its CPU).
    An attrs slots class is always tracked; a ``gc=False`` Struct never is, and a tuple holding
    only such Structs, strings and ints is untracked by the collector's first pass over it.

    The class keeps what the attrs definition gives its users: the same fields in the same order
    with the same defaults, the constructor (positional or keyword), equality (same class, equal
    fields), hashing, immutability, the repr, and ``__attrs_attrs__`` (the attrs definition's),
    so ``attrs.fields``, ``attrs.has``, ``attrs.evolve``, ``attrs.asdict`` and cattrs treat it as
    the attrs class it was written as (and mypy, which reads the source, sees that class). The
    methods, properties and class attributes of the class body are carried over, and so are its
    base classes (slot-less mixins). Not carried over: weak references (msgspec cannot combine
    them with ``gc=False``); assigning an attribute raises ``AttributeError`` (attrs' own
    ``FrozenInstanceError`` is a subclass of it).

    Sound because the fields of these models are strings, ints, enumerations, and tuples of
    those or of other untracked models: nothing that can lead back to the object, so no
    reference cycle runs through it (an untracked object in a cycle would never be freed).
    """
    hints = typing.get_type_hints(cls)
    fields = attrs.fields(cls)  # type: ignore[arg-type]  # T is an attrs class
    namespace: dict[str, Any] = {
        name: value
        for name, value in vars(cls).items()
        if not (name.startswith("__") and name.endswith("__"))
        and name not in {field.name for field in fields}
    }
    annotations: dict[str, Any] = {}
    for field in fields:
        annotations[field.name] = hints[field.name]
        default = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            namespace[field.name] = msgspec.field(default_factory=default.factory)
        elif default is not attrs.NOTHING:
            namespace[field.name] = default
    namespace.update(
        __annotations__=annotations,
        __module__=cls.__module__,
        __qualname__=cls.__qualname__,
        __doc__=cls.__doc__,
        __attrs_attrs__=fields,
    )
    bases = tuple(base for base in cls.__bases__ if base is not object)
    struct_meta: Any = type(msgspec.Struct)
    struct: type[T] = struct_meta(
        cls.__name__, (*bases, msgspec.Struct), namespace, frozen=True, gc=False
    )
    return struct
