"""Checking requests against the documented limits before anything is sent.

Rules live here as plain functions that append to a :class:`Checker`, so that one
:class:`~wecom_async.errors.ValidationError` can report every problem at once, each with its field
path (``schedule.attendees[3].userid``) and the limit. Response models carry no validators: what
WeCom answers is taken as it is (its documented ranges are wider than what a request may send).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from ..errors import Problem, ValidationError

__all__ = ["UINT32_MAX", "Checker", "fmt_set"]

UINT32_MAX = 2**32 - 1


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

    def max_chars(self, path: str, value: str | None, limit: int) -> None:
        if value is not None and len(value) > limit:
            self.add(path, f"at most {limit} characters, got {len(value)}")

    def max_bytes(self, path: str, value: str | None, limit: int) -> None:
        if value is None:
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

    def uint32(self, path: str, value: int | None) -> None:
        if value is not None and not 0 <= value <= UINT32_MAX:
            self.add(path, f"must be within uint32 (0…{UINT32_MAX}), got {value}")

    def int_range(self, path: str, value: int | None, low: int, high: int) -> None:
        if value is not None and not low <= value <= high:
            self.add(path, f"must be within {low}…{high}, got {value}")

    def each_in_range(self, path: str, values: Iterable[int], low: int, high: int) -> None:
        for index, value in enumerate(values):
            self.int_range(f"{path}[{index}]", value, low, high)

    def one_of(self, path: str, value: int | None, allowed: Collection[int]) -> None:
        if value is not None and value not in allowed:
            self.add(path, f"must be one of {fmt_set(allowed)}, got {value}")


def fmt_set(values: Collection[int]) -> str:
    return "{" + ", ".join(str(v) for v in sorted(values)) + "}"
