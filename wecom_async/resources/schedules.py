"""``client.schedules``: the schedule (日程) endpoints, one keyword-only method each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from .. import _converter, _sansio
from ..models._common import to_unix
from ..models._validation import Checker
from ..models.schedule import (
    AddScheduleRequest,
    AddScheduleResponse,
    Attendee,
    GetSchedulesRequest,
    GetSchedulesResponse,
    Reminders,
    Schedule,
    ScheduleInput,
    normalize_attendees,
)

if TYPE_CHECKING:
    from ..client import TimeoutLike, WeComClient

__all__ = ["Schedules"]

PATH_ADD = "oa/schedule/add"
PATH_GET = "oa/schedule/get"


class Schedules:
    """The schedule endpoints of one client (``client.schedules``)."""

    def __init__(self, client: WeComClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<Schedules of {self._client!r}>"

    async def add(
        self,
        *,
        start_time: int | datetime,
        end_time: int | datetime,
        summary: str | None = None,
        description: str | None = None,
        location: str | None = None,
        attendees: Iterable[str | Attendee] | None = None,
        admins: Iterable[str] | None = None,
        reminders: Reminders | None = None,
        cal_id: str | None = None,
        is_whole_day: bool | None = None,
        agentid: int | None = None,
        timeout: TimeoutLike | None = None,
    ) -> str:
        """Create a schedule and return its ``schedule_id``.

        WeCom doc: https://developer.work.weixin.qq.com/document/path/93648

        Times are Unix seconds or timezone-aware datetimes. ``attendees`` takes user IDs or
        :class:`~wecom_async.Attendee` objects; every admin must also be an attendee. Fields left
        as None are not sent. Every documented limit is checked first: a
        :class:`~wecom_async.ValidationError` lists all problems, and nothing is sent.
        """
        check = Checker()
        request = AddScheduleRequest(
            schedule=ScheduleInput(
                start_time=_unix(check, "schedule.start_time", start_time),
                end_time=_unix(check, "schedule.end_time", end_time),
                admins=None if admins is None else tuple(admins),
                attendees=None if attendees is None else normalize_attendees(attendees),
                summary=summary,
                description=description,
                reminders=reminders,
                location=location,
                cal_id=cal_id,
                is_whole_day=is_whole_day,
            ),
            agentid=agentid,
        )
        request.validate(check)
        answer = await self._client._call(
            PATH_ADD,
            _converter.encode(request),
            _sansio.model_decoder(AddScheduleResponse, PATH_ADD),
            timeout,
        )
        return answer.schedule_id

    async def get(
        self, schedule_ids: Sequence[str], *, timeout: TimeoutLike | None = None
    ) -> list[Schedule]:
        """Fetch up to 1000 schedules by ID, in the order WeCom answers.

        WeCom doc: https://developer.work.weixin.qq.com/document/path/97724

        Cancelled schedules are returned too (``status`` 1, ``is_cancelled``). IDs WeCom does not
        know are left out of the answer. For more than 1000 IDs use the bulk helpers.
        """
        request = GetSchedulesRequest(schedule_id_list=tuple(schedule_ids))
        request.validate()
        answer = await self._client._call(
            PATH_GET,
            _converter.encode(request),
            _sansio.model_decoder(GetSchedulesResponse, PATH_GET),
            timeout,
        )
        return list(answer.schedule_list)


def _unix(check: Checker, path: str, value: int | datetime) -> int:
    """Unix seconds from ``value``; a naive datetime is recorded as a problem (and reads as 0)."""
    try:
        return to_unix(value)
    except ValueError as exc:
        check.add(path, str(exc))
        return 0
