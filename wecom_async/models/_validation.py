"""Checking requests against the documented limits before anything is sent.

Rules live here as plain functions that append to a :class:`Checker`, so that one
:class:`~wecom_async.errors.ValidationError` can report every problem at once, each with its field
path (``schedule.attendees[3].userid``) and the limit. Response models carry no validators: what
WeCom answers is taken as it is (its documented ranges are wider than what a request may send).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Any

import aiohttp

from ..errors import Problem, ValidationError

__all__ = [
    "UINT32_MAX",
    "Checker",
    "check_ids",
    "check_options",
    "describe",
    "fmt_set",
    "is_int",
    "unencodable",
]

UINT32_MAX = 2**32 - 1
#: The JSON integers orjson writes (a wider one makes it raise).
_INT64 = (-(2**63), 2**64 - 1)


def _same(value: Any) -> Any:
    return value


def is_int(value: object) -> bool:
    """An ``int`` (IntEnum members included), not a ``bool``: what an integer field takes."""
    return isinstance(value, int) and not isinstance(value, bool)


def describe(value: object) -> str:
    """A wrong value for a message: its type and a short repr (``int 5``, ``None``)."""
    if value is None:
        return "None"
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"


def _utf8_problem(text: str) -> str | None:
    """Why *text* cannot be sent as UTF-8 JSON (a lone surrogate), or None."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"not valid UTF-8: lone surrogate {text[exc.start]!r} at index {exc.start}"
    return None


class Checker:
    """Collects problems; :meth:`raise_if_any` raises them together."""

    __slots__ = ("problems",)

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def raise_if_any(self, model: str) -> None:
        if self.problems:
            raise ValidationError(self.problems, model=model)

    # --- reusable rules ---------------------------------------------------------------------

    # Each rule first checks the value's type: a wrong type is a problem at its path (never a
    # TypeError from a comparison, nor bytes sent as base64). ``None`` means "not given".

    def is_str(self, path: str, value: object) -> bool:
        """Whether *value* is a string that can be sent (else the problem is recorded)."""
        if not isinstance(value, str):
            self.add(path, f"must be a string, got {describe(value)}")
            return False
        problem = _utf8_problem(value)
        if problem is not None:
            self.add(path, problem)
            return False
        return True

    def is_int(self, path: str, value: object) -> bool:
        """Whether *value* is an integer (not a bool, float or string; else recorded)."""
        if not is_int(value):
            self.add(path, f"must be an integer, got {describe(value)}")
            return False
        return True

    def text(self, path: str, value: object, limit: int) -> None:
        """An optional string of at most *limit* characters."""
        if value is not None and self.is_str(path, value):
            self.max_chars(path, value, limit)  # type: ignore[arg-type]

    def id(self, path: str, value: object, max_bytes: int | None = None) -> None:
        """A required, non-empty string ID of at most *max_bytes* bytes in UTF-8."""
        if self.is_str(path, value):
            self.not_empty(path, value)  # type: ignore[arg-type]
            if max_bytes is not None:
                self.max_bytes(path, value, max_bytes)  # type: ignore[arg-type]

    def flag(self, path: str, value: object) -> None:
        """An optional 0/1 flag: ``True``/``False`` (or the ints 0 and 1)."""
        if value is None or isinstance(value, bool) or (is_int(value) and value in (0, 1)):
            return
        self.add(path, f"must be a bool, got {describe(value)}")

    def int_list(self, path: str, values: object) -> bool:
        """Whether *values* is a list or tuple of integers (else every problem is recorded)."""
        if not isinstance(values, (tuple, list)):
            self.add(path, f"must be a list of integers, got {describe(values)}")
            return False
        before = len(self.problems)
        for index, value in enumerate(values):
            self.is_int(f"{path}[{index}]", value)
        return len(self.problems) == before

    def max_chars(self, path: str, value: str | None, limit: int) -> None:
        if value is not None and len(value) > limit:
            self.add(path, f"at most {limit} characters, got {len(value)}")

    def max_bytes(self, path: str, value: str | None, limit: int) -> None:
        if value is None or not self.is_str(path, value):
            return
        size = len(value.encode("utf-8"))
        if size > limit:
            self.add(path, f"at most {limit} bytes in UTF-8, got {size}")

    def not_empty(self, path: str, value: str | None) -> None:
        if value is not None and not value:
            self.add(path, "must not be empty")

    def max_items(self, path: str, values: Collection[object] | None, limit: int) -> None:
        if values is not None and len(values) > limit:
            self.add(path, f"at most {limit} items, got {len(values)}")

    def uint32(self, path: str, value: int | None, *, required: bool = False) -> None:
        if value is None:
            if required:
                self.add(path, "required")
        elif self.is_int(path, value) and not 0 <= value <= UINT32_MAX:
            self.add(path, f"must be within uint32 (0…{UINT32_MAX}), got {value}")

    def int_range(self, path: str, value: int | None, low: int, high: int) -> None:
        if value is not None and self.is_int(path, value) and not low <= value <= high:
            self.add(path, f"must be within {low}…{high}, got {value}")

    def each_in_range(self, path: str, values: Iterable[int], low: int, high: int) -> None:
        for index, value in enumerate(values):
            self.int_range(f"{path}[{index}]", value, low, high)

    def call_options(self, timeout: object, max_retries: object) -> None:
        """``timeout=`` (seconds > 0 or an ``aiohttp.ClientTimeout``) and ``max_retries=`` (an
        integer ≥ 0) of a client or a call; ``None`` means "not given"."""
        if not (
            timeout is None
            or isinstance(timeout, aiohttp.ClientTimeout)
            or (
                isinstance(timeout, (int, float))
                and not isinstance(timeout, bool)
                and 0 < timeout < float("inf")
            )
        ):
            self.add("timeout", f"must be seconds > 0 or an aiohttp.ClientTimeout, got {timeout!r}")
        if max_retries is not None and self.is_int("max_retries", max_retries) and max_retries < 0:  # type: ignore[operator]
            self.add("max_retries", f"must be at least 0, got {max_retries}")

    def one_of(self, path: str, value: int | None, allowed: Collection[int]) -> None:
        if value is not None and self.is_int(path, value) and value not in allowed:
            self.add(path, f"must be one of {fmt_set(allowed)}, got {value}")


def check_ids(name: str, values: Iterable[object], key: Callable[[Any], object] = _same) -> None:
    """Raise :class:`ValidationError` naming each item of *values* (by its index in the
    caller's argument) whose ID — ``key(item)`` — is not a string.

    Run before de-duplicating (an unhashable ID would fail there); one ``isinstance`` per item.
    """
    check = Checker()
    suffix = "" if key is _same else ".userid"
    for index, value in enumerate(values):
        if not isinstance(key(value), str):
            check.is_str(f"{name}[{index}]{suffix}", key(value))
    check.raise_if_any(f"{name} argument")


def check_options(
    *,
    chunk_size: object = 1,
    concurrency: object = 1,
    on_error: object = "raise",
    max_chunk_size: int = 1,
    timeout: object = None,
    max_retries: object = None,
) -> None:
    """Raise :class:`ValidationError` (also a ``ValueError``) naming every bad bulk option."""
    check = Checker()
    check.call_options(timeout, max_retries)
    check.int_range("chunk_size", chunk_size, 1, max_chunk_size)  # type: ignore[arg-type]
    if check.is_int("concurrency", concurrency) and concurrency < 1:  # type: ignore[operator]
        check.add("concurrency", f"must be at least 1, got {concurrency}")
    if on_error not in ("raise", "collect"):
        check.add("on_error", f"must be 'raise' or 'collect', got {on_error!r}")
    check.raise_if_any("options")


def fmt_set(values: Collection[int]) -> str:
    return "{" + ", ".join(str(v) for v in sorted(values)) + "}"


def unencodable(data: Any, path: str = "") -> list[Problem]:
    """Every value of JSON-ready *data* that cannot be written as JSON, with its field path.

    Used after an encoder refused a body (the models' rules catch wrong types before; this
    finds what only encoding meets: lone surrogates, bytes, non-string keys, huge ints...).
    """
    problems: list[Problem] = []
    where = path or "body"
    if isinstance(data, str):
        problem = _utf8_problem(data)
        if problem is not None:
            problems.append(Problem(where, problem))
    elif isinstance(data, dict):
        for key, value in data.items():
            if not isinstance(key, str):
                problems.append(Problem(where, f"keys must be strings, got {describe(key)}"))
                continue
            key_problem = _utf8_problem(key)
            if key_problem is not None:
                problems.append(Problem(where, f"key {key_problem}"))
                continue
            problems.extend(unencodable(value, f"{path}.{key}" if path else key))
    elif isinstance(data, (list, tuple)):
        for index, value in enumerate(data):
            problems.extend(unencodable(value, f"{path}[{index}]"))
    elif isinstance(data, int) and not isinstance(data, bool):
        if not _INT64[0] <= data <= _INT64[1]:
            problems.append(Problem(where, f"integer out of the 64-bit range: {data}"))
    elif data is not None and not isinstance(data, (bool, float)):
        problems.append(Problem(where, f"cannot be sent as JSON: {describe(data)}"))
    return problems
