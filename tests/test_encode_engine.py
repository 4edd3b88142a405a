"""The compiled request encoder writes exactly the bytes of the cattrs reference path.

``_converter.encode`` compiles each request model into a function (msgspec Struct twins);
``_converter.encode_reference`` is the cattrs converter + orjson. They must agree byte for byte
on every request model, whatever values the model holds: here on values drawn at random from
each field's type (None, defaults, values equal to a default but built anew, lists where tuples
are declared, enum values WeCom may add later, any Unicode), and on the benchmark's data.
"""

from __future__ import annotations

import enum
import random
import types
import typing
from typing import Any

import attrs
import msgspec
import orjson
import pytest

import wecom_async.models as models
from benchmarks._data import add_request, get_body, make_schedules
from wecom_async import _converter
from wecom_async.models import (
    AddScheduleRequest,
    Attendee,
    GetSchedulesResponse,
    Reminders,
    RepeatType,
    ScheduleInput,
)

REQUEST_MODELS = sorted(
    (
        cls
        for name in models.__all__
        if attrs.has(cls := getattr(models, name))
        and (name.endswith(("Request", "Input")) or name in {"Reminders", "Attendee"})
    ),
    key=lambda cls: cls.__name__,
)

_ALPHABET = (
    "abcxyz019 _-.@/\\\"'\n\t\r\x00\x1f\x7f"  # escapes and control characters
    "日程会议室周例会评审「」（）：，。"
    "é€\u2028\u2029\ufeff😀𝄞"
)


def _text(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return "".join([])  # the empty string, built anew
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randrange(1, 12)))


def _int(rng: random.Random) -> int:
    choice = rng.random()
    if choice < 0.3:
        return int(str(rng.choice([0, 8, 1, -5, 256])))  # small values, built anew
    if choice < 0.5:
        return rng.choice([300, 86400, -86400, 1_700_000_000])
    return rng.randrange(-(2**40), 2**40)


def random_value(rng: random.Random, tp: Any, depth: int = 0) -> Any:
    """A random value of the annotation *tp* (as request models use them)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        if type(None) in args and rng.random() < 0.3:
            return None
        return random_value(rng, rng.choice([a for a in args if a is not type(None)]), depth)
    if origin in (tuple, list):
        items = [random_value(rng, args[0], depth + 1) for _ in range(rng.randrange(0, 4))]
        roll = rng.random()
        if roll < 0.15:
            return list(items)  # a list where a tuple is declared: attrs does not convert
        return tuple(items)  # an empty one is the () singleton, as in any program
    if tp is bool:
        return rng.random() < 0.5
    if isinstance(tp, type) and issubclass(tp, enum.IntEnum):
        members = list(tp)
        if rng.random() < 0.15:
            return tp(max(m.value for m in members) + rng.randrange(1, 5))  # added later
        return rng.choice(members)
    if tp is int:
        return _int(rng)
    if tp is str:
        return _text(rng)
    if attrs.has(tp):
        return random_instance(rng, tp, depth + 1)
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):  # Attendee
        fields = msgspec.structs.fields(tp)
        return tp(*(random_value(rng, f.type, depth + 1) for f in fields))
    raise AssertionError(f"no generator for {tp!r}")


def random_instance(rng: random.Random, cls: type[Any], depth: int = 0) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for field in attrs.fields(cls):
        if field.default is not attrs.NOTHING and rng.random() < 0.3:
            continue  # left at its default
        if field.default is not attrs.NOTHING and rng.random() < 0.1:
            default = field.default
            if isinstance(default, tuple):
                kwargs[field.name] = (*default,)  # equal to the default, built anew
                continue
            kwargs[field.name] = default
            continue
        kwargs[field.name] = random_value(rng, hints[field.name], depth)
    return cls(**kwargs)


def test_the_schedule_request_models_are_compiled() -> None:
    """The differential tests below are only meaningful if the fast engine is really used."""
    for cls in (AddScheduleRequest, ScheduleInput, Reminders):
        _converter.encode(random_instance(random.Random(0), cls))
        assert _converter._encoders[cls] is not _converter.encode_reference


@pytest.mark.parametrize("cls", REQUEST_MODELS, ids=lambda cls: cls.__name__)
def test_compiled_and_reference_write_the_same_bytes(cls: type[Any]) -> None:
    rng = random.Random(f"encode:{cls.__name__}")
    for _ in range(400):
        instance = random_instance(rng, cls)
        assert _converter.encode(instance) == _converter.encode_reference(instance), instance


@pytest.mark.parametrize("profile", ["light", "heavy"])
def test_same_bytes_on_the_benchmark_data(profile: str) -> None:
    for schedule in make_schedules(200, profile):  # type: ignore[arg-type]
        request = add_request(schedule)
        assert _converter.encode(request) == _converter.encode_reference(request)


def test_values_equal_to_defaults_are_left_out_like_cattrs() -> None:
    reminders = Reminders(
        is_remind=False,
        remind_before_event_secs=int("0"),
        remind_time_diffs=(),
        repeat_type=RepeatType(0),
        timezone=int("8"),
        repeat_day_of_week=[],  # type: ignore[arg-type]  # a list is written, as by cattrs
    )
    request = AddScheduleRequest(
        schedule=ScheduleInput(
            start_time=1,
            end_time=2,
            attendees=(Attendee("u1"),),
            reminders=reminders,
            summary="",
            is_whole_day=False,
        )
    )
    assert _converter.encode(request) == _converter.encode_reference(request)
    assert _converter.encode(request) == (
        b'{"schedule":{"start_time":1,"end_time":2,"attendees":[{"userid":"u1"}],'
        b'"summary":"","reminders":{"repeat_day_of_week":[]},"is_whole_day":0}}'
    )


@attrs.frozen
class _WithFloat:
    ratio: float = 0.5


@attrs.frozen
class _WithDict:
    extra: dict[str, int] = attrs.field(factory=dict)


@pytest.mark.parametrize("instance", [_WithFloat(1e16), _WithDict({"a": 1})])
def test_what_the_compiler_does_not_know_goes_through_cattrs(instance: object) -> None:
    assert _converter.encode(instance) == _converter.encode_reference(instance)
    assert _converter._encoders[type(instance)] is _converter.encode_reference


def test_plain_data_goes_through_cattrs() -> None:
    body = {"schedule_id_list": ["a", "b"], "flag": True}
    assert _converter.encode(body) == b'{"schedule_id_list":["a","b"],"flag":1}'


@pytest.mark.parametrize("profile", ["light", "heavy"])
def test_decode_engines_agree_on_the_benchmark_data(profile: str) -> None:
    """The answers side: msgspec (fast path) and cattrs (reference) build equal models."""
    body = get_body(300, profile)  # type: ignore[arg-type]
    fast = _converter.decode(body, GetSchedulesResponse)
    reference = _converter.structure(orjson.loads(body), GetSchedulesResponse)
    assert len(fast.schedule_list) == 300
    assert fast == reference
    assert any(s.attendees for s in fast.schedule_list)
    assert all(type(a) is Attendee for s in fast.schedule_list for a in s.attendees)
