"""Validation skips a rule's Checker call only when the value is certainly fine.

The quick tests in ``models/schedule.py`` (``_plain_userids``, ``_fits``, the day sets) only save
building field paths: with them made to always say "ask the Checker", every
request must get exactly the same problems, in the same order.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from wecom_async.errors import Problem
from wecom_async.models import schedule as schedule_models
from wecom_async.models._validation import Checker
from wecom_async.models.schedule import (
    AddScheduleRequest,
    Attendee,
    Reminders,
    RepeatType,
    ScheduleInput,
)

_TEXTS = ["", "a", "张伟", "x" * 16, "y" * 17, "é" * 17, "z" * 64, "z" * 65, "会" * 22, "😀" * 16]


def _userid(rng: random.Random) -> Any:
    return rng.choice([*_TEXTS, "zhangwei", "lisi", None, 5])


def _int(rng: random.Random) -> int:
    return rng.choice([0, 1, 7, 8, 12, 13, -1, -12, -13, 31, 32, 2**32 - 1, 2**32, 300])


def _request(rng: random.Random) -> AddScheduleRequest:
    attendees = tuple(Attendee(_userid(rng)) for _ in range(rng.randrange(0, 6)))
    reminders = Reminders(
        is_remind=rng.random() < 0.5,
        remind_before_event_secs=rng.choice([0, 300, 301, 86400]),
        remind_time_diffs=tuple(rng.choice([0, -300, 32400, 5]) for _ in range(rng.randrange(3))),
        is_repeat=rng.random() < 0.5,
        repeat_type=rng.choice([*RepeatType, RepeatType(3)]),
        repeat_until=_int(rng),
        is_custom_repeat=rng.random() < 0.5,
        repeat_interval=_int(rng),
        repeat_day_of_week=tuple(_int(rng) for _ in range(rng.randrange(3))),
        repeat_day_of_month=tuple(_int(rng) for _ in range(rng.randrange(3))),
        timezone=_int(rng),
    )
    return AddScheduleRequest(
        schedule=ScheduleInput(
            start_time=_int(rng),
            end_time=_int(rng),
            admins=rng.choice(
                [
                    None,
                    (),
                    tuple(_userid(rng) for _ in range(rng.randrange(1, 5))),
                    tuple(a.userid for a in attendees[:2]),
                ]
            ),
            attendees=rng.choice([None, attendees]),
            summary=rng.choice([None, "", "周会", "x" * 129]),
            description=rng.choice([None, "描述", "x" * 1001]),
            location=rng.choice([None, "会议室", "x" * 129]),
            cal_id=rng.choice([None, *_TEXTS]),
            is_whole_day=rng.choice([None, True, False]),
            reminders=rng.choice([None, reminders]),
        ),
        agentid=rng.choice([None, 1, -1]),
    )


def _problems(request: AddScheduleRequest) -> list[Problem] | str:
    check = Checker()
    try:
        request.schedule.validate(check)
    except Exception as exc:  # the same failure either way
        return type(exc).__name__
    return list(check.problems)


def test_quick_tests_never_change_the_problems(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(97724)
    requests = [_request(rng) for _ in range(3000)]
    fast = [_problems(r) for r in requests]
    monkeypatch.setattr(schedule_models, "_plain_userids", lambda userids: False)
    monkeypatch.setattr(schedule_models, "_fits", lambda text, max_bytes: False)
    monkeypatch.setattr(schedule_models, "_DAYS_OF_WEEK", frozenset())
    monkeypatch.setattr(schedule_models, "_DAYS_OF_MONTH", frozenset())
    reference = [_problems(r) for r in requests]
    assert fast == reference
    # Meaningful only if both valid and invalid requests were drawn.
    assert sum(1 for p in fast if p == []) > 30
    assert sum(1 for p in fast if isinstance(p, list) and len(p) > 2) > 100


def test_plain_userids_is_a_sufficient_condition() -> None:
    plain = schedule_models._plain_userids
    assert plain([])
    assert plain(["a", "zhangwei", "x" * 16, "张" * 16])
    assert plain(["a", "z" * 64])
    assert not plain([""])
    assert not plain(["z" * 65])
    assert not plain(["张" * 17])  # may be over 64 bytes: the Checker counts them
    assert not plain(["a", None])
