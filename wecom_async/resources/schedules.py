"""``client.schedules``: the schedule (日程) endpoints, one keyword-only method each."""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import AsyncIterable, Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final, TypeVar

import attrs

from .._retry import CallStats
from ..batching import (
    DEFAULT_CONCURRENCY,
    BulkFetchError,
    BulkProgress,
    BulkResult,
    OnError,
    ScheduleStream,
)
from ..errors import NotFoundError, ResourceDeletedError
from ..models._common import id_tuple, reject_str, to_unix
from ..models._validation import UINT32_MAX, Checker, check_ids, check_options, is_int
from ..models.schedule import (
    _USERID,
    MAX_IDS_PER_GET,
    MAX_PAGE_SIZE,
    AddScheduleRequest,
    AddScheduleResponse,
    Attendee,
    DeleteScheduleRequest,
    GetSchedulesByCalendarRequest,
    GetSchedulesByCalendarResponse,
    GetSchedulesRequest,
    GetSchedulesResponse,
    OKResponse,
    OpMode,
    Reminders,
    Schedule,
    ScheduleAttendeesRequest,
    ScheduleInput,
    UpdateScheduleRequest,
    UpdateScheduleResponse,
    _all_str,
    normalize_attendees,
)

if TYPE_CHECKING:
    from ..client import TimeoutLike, WeComClient

__all__ = ["ScheduleListing", "Schedules"]

PATH_ADD = "oa/schedule/add"
PATH_GET = "oa/schedule/get"
PATH_UPDATE = "oa/schedule/update"
PATH_DELETE = "oa/schedule/del"
PATH_ADD_ATTENDEES = "oa/schedule/add_attendees"
PATH_DEL_ATTENDEES = "oa/schedule/del_attendees"
PATH_GET_BY_CALENDAR = "oa/schedule/get_by_calendar"

T = TypeVar("T")


class _Unset(enum.Enum):
    """The type of :data:`UNSET`."""

    UNSET = "UNSET"


#: "Not given" in ``patch`` methods: the field keeps its current value.
UNSET: Final = _Unset.UNSET

#: Unix seconds no rule refuses, for times not given to ``patch`` (see there).
_FIRST: int | datetime = 0
_LAST: int | datetime = UINT32_MAX


def _given(value: T | _Unset, current: T) -> T:
    """``value`` unless it is :data:`UNSET`, else ``current``."""
    return current if isinstance(value, _Unset) else value


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
        max_retries: int | None = None,
    ) -> str:
        """Create a schedule and return its ``schedule_id``.

        WeCom doc: https://developer.work.weixin.qq.com/document/path/93648

        Times are Unix seconds or timezone-aware datetimes. ``attendees`` takes user IDs or
        :class:`~wecom_async.Attendee` objects; every admin must also be an attendee. Fields left
        as None are not sent. Every documented limit is checked first: a
        :class:`~wecom_async.ValidationError` lists all problems, and nothing is sent.

        schedule/add has no idempotency key, so it is retried only after failures where the
        request cannot have reached WeCom (connect errors, and errcodes WeCom answers without
        acting, such as -1); a timeout after sending is raised, never resent blindly.

        A third-party app's client (``SuiteProvider.client``) must give ``cal_id`` (WeCom's rule);
        ``agentid`` is only for old third-party multi-app suites.
        """
        check = Checker()
        request = AddScheduleRequest(
            schedule=ScheduleInput(
                # Unix seconds as they are (the usual case, on every call: no function call).
                start_time=start_time
                if type(start_time) is int
                else _unix(check, "schedule.start_time", start_time),
                end_time=end_time
                if type(end_time) is int
                else _unix(check, "schedule.end_time", end_time),
                admins=None if admins is None else id_tuple("admins", admins),
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
        if cal_id is None and self._client._core.third_party:
            # "第三方应用必须指定cal_id" (doc 93648): WeCom would refuse it (40058).
            check.add("schedule.cal_id", "required for a third-party (suite) app's client")
        request.validate(check)
        answer = await self._client._call_model(
            PATH_ADD,
            request,
            AddScheduleResponse,
            idempotent=False,
            timeout=timeout,
            max_retries=max_retries,
        )
        return answer.schedule_id

    async def get(
        self,
        schedule_ids: Sequence[str],
        *,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
    ) -> list[Schedule]:
        """Fetch up to 1000 schedules by ID, in the order WeCom answers.

        WeCom doc: https://developer.work.weixin.qq.com/document/path/97724

        Cancelled schedules are returned too (``status`` 1, ``is_cancelled``). IDs WeCom does not
        know are left out of the answer. For more than 1000 IDs use the bulk helpers.
        """
        return list(
            await self._get_chunk(
                id_tuple("schedule_ids", schedule_ids), timeout=timeout, max_retries=max_retries
            )
        )

    async def _get_chunk(
        self,
        schedule_ids: tuple[str, ...],
        *,
        timeout: TimeoutLike | None,
        max_retries: int | None,
        stats: CallStats | None = None,
    ) -> tuple[Schedule, ...]:
        request = GetSchedulesRequest(schedule_id_list=schedule_ids)
        request.validate()
        answer = await self._client._call_model(
            PATH_GET,
            request,
            GetSchedulesResponse,
            idempotent=True,
            timeout=timeout,
            max_retries=max_retries,
            stats=stats,
        )
        return answer.schedule_list

    async def update(
        self,
        schedule_id: str,
        *,
        start_time: int | datetime,
        end_time: int | datetime,
        summary: str | None = None,
        description: str | None = None,
        location: str | None = None,
        attendees: Iterable[str | Attendee] | None = None,
        admins: Iterable[str] | None = None,
        reminders: Reminders | None = None,
        is_whole_day: bool | None = None,
        skip_attendees: bool = False,
        op_mode: OpMode = OpMode.ALL,
        op_start_time: int | datetime | None = None,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
    ) -> str:
        """Overwrite a schedule; return the ID of the schedule that now holds the changes.

        WeCom doc: https://developer.work.weixin.qq.com/document/path/97720

        **schedule/update overwrites, it does not merge**: every field left as None is cleared
        (summary, description, location, admins, reminders…), and so are the attendees unless
        ``skip_attendees=True`` (which keeps them, with their answers; ``attendees`` must then
        be None). To change a few fields and keep the rest, use :meth:`patch`; to add or remove
        attendees, :meth:`add_attendees`/:meth:`remove_attendees`. The calendar of a schedule
        cannot change. ``reminders.exclude_time_list`` is output only and never sent.

        For a recurring schedule, ``op_mode`` chooses the occurrences (doc 96204):
        ``OpMode.ALL`` (default) changes the whole series in place and returns
        ``schedule_id``. ``OpMode.THIS`` and ``OpMode.THIS_AND_FOLLOWING`` need
        ``op_start_time``, the start of one occurrence of the series; WeCom then splits the
        series and returns the **new** schedule's ID: ``THIS`` moves the occurrence to a new
        one-off schedule (``reminders.is_repeat`` must not be set) and excludes it from the
        series; ``THIS_AND_FOLLOWING`` ends the series before ``op_start_time`` and starts a new
        series there with the fields given (at the series' first occurrence it is the same as
        ``ALL``). Either way ``start_time``/``end_time`` are those of the new schedule.

        Every documented limit is checked first: a :class:`~wecom_async.ValidationError` lists
        all problems, and nothing is sent. The call has no idempotency key, so it is never
        resent after the request may have reached WeCom (see :meth:`add`).
        """
        check = Checker()
        request = UpdateScheduleRequest(
            schedule=ScheduleInput(
                schedule_id=schedule_id,
                start_time=_unix(check, "schedule.start_time", start_time),
                end_time=_unix(check, "schedule.end_time", end_time),
                admins=None if admins is None else id_tuple("admins", admins),
                attendees=None if attendees is None else normalize_attendees(attendees),
                summary=summary,
                description=description,
                reminders=None if reminders is None else _sendable(reminders),
                location=location,
                is_whole_day=is_whole_day,
            ),
            # False is left out (WeCom's default); a value that is no bool goes to validate.
            skip_attendees=(skip_attendees or None)
            if type(skip_attendees) is bool
            else skip_attendees,
            op_mode=(mode := _op_mode(check, op_mode)),
            op_start_time=_op_start(check, mode, op_start_time),
        )
        return await self._send_update(
            request, check, schedule_id, timeout=timeout, max_retries=max_retries
        )

    async def patch(
        self,
        schedule_id: str,
        *,
        start_time: int | datetime | _Unset = UNSET,
        end_time: int | datetime | _Unset = UNSET,
        summary: str | _Unset = UNSET,
        description: str | _Unset = UNSET,
        location: str | _Unset = UNSET,
        attendees: Iterable[str | Attendee] | _Unset = UNSET,
        admins: Iterable[str] | _Unset = UNSET,
        reminders: Reminders | _Unset = UNSET,
        is_whole_day: bool | _Unset = UNSET,
        op_mode: OpMode = OpMode.ALL,
        op_start_time: int | datetime | None = None,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
    ) -> str:
        """Change only the fields given and keep every other one; return like :meth:`update`.

        WeCom docs: https://developer.work.weixin.qq.com/document/path/97724 (get) and
        https://developer.work.weixin.qq.com/document/path/97720 (update)

        Because schedule/update overwrites, this reads the schedule (schedule/get), applies the
        changes and sends the whole schedule back. Fields not given keep their current values,
        reminders and recurrence included. Attendees not given are kept by WeCom itself
        (``skip_attendees``), with their answers; ``attendees=[...]`` replaces them. To clear a
        text field pass ``""``; ``reminders`` replaces the reminders as a whole (start from
        ``attrs.evolve(schedule.reminders, ...)`` to change one setting).

        With ``op_mode`` THIS or THIS_AND_FOLLOWING the changes apply from the occurrence
        starting at ``op_start_time``; times not given default to that occurrence's own start
        and end. THIS makes the occurrence a one-off: the series' recurrence is not copied.

        **Read-modify-write race**: WeCom has no version check on update. A change made by
        someone else between the read and the update is overwritten with the value read, for
        every field sent (all but the attendees, unless ``attendees`` is given). Serialise
        writers of one schedule (or re-read and compare afterwards) when that matters.

        Raises :class:`~wecom_async.NotFoundError` (errcode 90461) when schedule/get does not
        return the schedule, :class:`~wecom_async.ResourceDeletedError` (90460) when it is
        cancelled, and :class:`~wecom_async.ValidationError` (nothing written) when the result
        breaks a documented limit or ``op_mode`` needs a recurring schedule and this one does
        not repeat. Assumption: both errors are raised by the client from the schedule/get
        answer, without sending the update (WeCom's answer to an update of a cancelled
        schedule is undocumented).
        """
        check = Checker()
        check.id("schedule.schedule_id", schedule_id)
        mode = _op_mode(check, op_mode)
        occurrence = _op_start(check, mode, op_start_time)
        # The arguments given are checked before the read, so nothing is sent when one is
        # wrong. Fields not given stand at values no rule refuses (times at the ends of uint32,
        # is_whole_day with its wider reminder rules): the read fills them in, then the whole
        # request is checked again.
        ScheduleInput(
            start_time=_unix(check, "schedule.start_time", _given(start_time, _FIRST)),
            end_time=_unix(check, "schedule.end_time", _given(end_time, _LAST)),
            admins=None if isinstance(admins, _Unset) else id_tuple("admins", admins),
            attendees=None if isinstance(attendees, _Unset) else normalize_attendees(attendees),
            summary=_given(summary, None),
            description=_given(description, None),
            reminders=_given(reminders, None),
            location=_given(location, None),
            is_whole_day=_given(is_whole_day, True),
        ).validate(check, skip_attendees=True)
        check.raise_if_any("schedule/update request")
        current = await self._get_one(schedule_id, timeout=timeout, max_retries=max_retries)
        op_mode = OpMode(OpMode.ALL if mode is None else mode)
        split = op_mode in (OpMode.THIS, OpMode.THIS_AND_FOLLOWING)
        if split and not current.reminders.is_repeat:
            check.add(
                "op_mode", f"{op_mode.name} needs a recurring schedule; this one does not repeat"
            )
        start: int | datetime = current.start_time
        end: int | datetime = current.end_time
        if split and occurrence is not None:
            start, end = occurrence, occurrence + (current.end_time - current.start_time)
        kept_reminders = current.reminders
        if op_mode == OpMode.THIS:
            kept_reminders = _one_off(kept_reminders)
        request = UpdateScheduleRequest(
            schedule=ScheduleInput(
                schedule_id=schedule_id,
                start_time=_unix(check, "schedule.start_time", _given(start_time, start)),
                end_time=_unix(check, "schedule.end_time", _given(end_time, end)),
                admins=id_tuple("admins", _given(admins, current.admins)),
                attendees=None if isinstance(attendees, _Unset) else normalize_attendees(attendees),
                summary=_given(summary, current.summary),
                description=_given(description, current.description),
                reminders=_sendable(_given(reminders, kept_reminders)),
                location=_given(location, current.location),
                is_whole_day=_given(is_whole_day, current.is_whole_day),
            ),
            skip_attendees=True if isinstance(attendees, _Unset) else None,
            op_mode=mode,
            op_start_time=occurrence,
        )
        return await self._send_update(
            request, check, schedule_id, timeout=timeout, max_retries=max_retries
        )

    async def _get_one(
        self, schedule_id: str, *, timeout: TimeoutLike | None, max_retries: int | None
    ) -> Schedule:
        """The live schedule ``schedule_id`` (for a read-modify-write)."""
        for schedule in await self._get_chunk(
            (schedule_id,), timeout=timeout, max_retries=max_retries
        ):
            if schedule.schedule_id == schedule_id:
                if schedule.is_cancelled:
                    raise ResourceDeletedError(90460, "the schedule is cancelled", path=PATH_GET)
                return schedule
        raise NotFoundError(90461, "schedule/get did not return the schedule", path=PATH_GET)

    async def _send_update(
        self,
        request: UpdateScheduleRequest,
        check: Checker,
        schedule_id: str,
        *,
        timeout: TimeoutLike | None,
        max_retries: int | None,
    ) -> str:
        """Validate and send an update; return the ID of the schedule holding the changes.

        Assumption: an answer without ``schedule_id`` (WeCom documents it for splits) means
        the schedule kept its ID.
        """
        request.validate(check)
        answer = await self._client._call_model(
            PATH_UPDATE,
            request,
            UpdateScheduleResponse,
            idempotent=False,
            timeout=timeout,
            max_retries=max_retries,
        )
        return answer.schedule_id or schedule_id

    async def delete(
        self,
        schedule_id: str,
        *,
        op_mode: OpMode = OpMode.ALL,
        op_start_time: int | datetime | None = None,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
    ) -> None:
        """Cancel a schedule, or some occurrences of a recurring one.

        WeCom doc: https://developer.work.weixin.qq.com/document/path/97725 (``oa/schedule/del``)

        ``OpMode.ALL`` (default) cancels the schedule: schedule/get still returns it, with
        ``status`` 1. ``OpMode.THIS`` removes the occurrence starting at ``op_start_time``
        (it is listed in ``reminders.exclude_time_list``); ``OpMode.THIS_AND_FOLLOWING`` ends
        the series before ``op_start_time`` (at the first occurrence: cancels the schedule).
        Not resent after the request may have reached WeCom.
        """
        check = Checker()
        mode = _op_mode(check, op_mode)
        request = DeleteScheduleRequest(
            schedule_id, op_mode=mode, op_start_time=_op_start(check, mode, op_start_time)
        )
        request.validate(check)
        await self._client._call_model(
            PATH_DELETE,
            request,
            OKResponse,
            idempotent=False,
            timeout=timeout,
            max_retries=max_retries,
        )

    async def add_attendees(
        self,
        schedule_id: str,
        userids: Iterable[str | Attendee],
        *,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
    ) -> None:
        """Add attendees to a schedule, keeping those it has (1 to 1000 users a call).

        WeCom doc: https://developer.work.weixin.qq.com/document/path/97721

        Every user given is sent, once (duplicates are dropped, order kept). Not resent after
        the request may have reached WeCom. Assumption: users already attending are left as
        they are, with their answers.
        """
        await self._change_attendees(
            PATH_ADD_ATTENDEES, schedule_id, userids, timeout=timeout, max_retries=max_retries
        )

    async def remove_attendees(
        self,
        schedule_id: str,
        userids: Iterable[str | Attendee],
        *,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
    ) -> None:
        """Remove attendees from a schedule (1 to 1000 users a call).

        WeCom doc: https://developer.work.weixin.qq.com/document/path/97722
        (``oa/schedule/del_attendees``)

        Every user given is sent, once (duplicates are dropped, order kept). Not resent after
        the request may have reached WeCom. Assumption: an admin of the schedule must stay an
        attendee (as on add), so removing one is refused with 90492: change ``admins`` first;
        users who are not attending are ignored.
        """
        await self._change_attendees(
            PATH_DEL_ATTENDEES, schedule_id, userids, timeout=timeout, max_retries=max_retries
        )

    async def _change_attendees(
        self,
        path: str,
        schedule_id: str,
        userids: Iterable[str | Attendee],
        *,
        timeout: TimeoutLike | None,
        max_retries: int | None,
    ) -> None:
        reject_str("userids", userids)
        attendees = normalize_attendees(userids)
        check_ids("userids", attendees, _USERID)  # by input index, before de-duplicating
        unique = {a.userid: a for a in attendees}
        request = ScheduleAttendeesRequest(schedule_id, tuple(unique.values()))
        request.validate(f"{path.removeprefix('oa/')} request")
        await self._client._call_model(
            path,
            request,
            OKResponse,
            idempotent=False,
            timeout=timeout,
            max_retries=max_retries,
        )

    def list_by_calendar(
        self,
        cal_id: str,
        *,
        offset: int = 0,
        limit: int = MAX_PAGE_SIZE,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
    ) -> ScheduleListing:
        """Every schedule of a calendar, as an async iterator that pages through them.

        WeCom doc: https://developer.work.weixin.qq.com/document/path/97723
        (``oa/schedule/get_by_calendar``; only calendars this app created)

        Pages of ``limit`` schedules (1…1000; 1000 by default, for throughput) are fetched as
        the iteration needs them, from ``offset``, until WeCom answers an empty page. The
        returned :class:`ScheduleListing` exposes ``offset``: where the iteration stands (the
        start offset plus the schedules yielded so far). Save it, and a later
        ``list_by_calendar(cal_id, offset=saved)`` yields only what comes after, such as the
        schedules added since. Arguments are checked at once
        (:class:`~wecom_async.ValidationError`); calls are reads, retried by the client's
        policy.

        Assumption: WeCom lists a calendar's schedules in a stable order with new ones (splits
        included) at the end, and keeps cancelled ones in the list (``is_cancelled``), so that
        a saved offset stays valid; the docs only say to page until an empty page.
        """
        GetSchedulesByCalendarRequest(cal_id, offset, limit).validate()
        return ScheduleListing(
            self, cal_id, offset=offset, limit=limit, timeout=timeout, max_retries=max_retries
        )

    async def _list_page(
        self,
        cal_id: str,
        offset: int,
        limit: int,
        *,
        timeout: TimeoutLike | None,
        max_retries: int | None,
    ) -> tuple[Schedule, ...]:
        request = GetSchedulesByCalendarRequest(cal_id, offset, limit)
        request.validate()
        answer = await self._client._call_model(
            PATH_GET_BY_CALENDAR,
            request,
            GetSchedulesByCalendarResponse,
            idempotent=True,
            timeout=timeout,
            max_retries=max_retries,
        )
        return answer.schedule_list

    def iter_many(
        self,
        schedule_ids: Iterable[str] | AsyncIterable[str],
        *,
        chunk_size: int = MAX_IDS_PER_GET,
        concurrency: int = DEFAULT_CONCURRENCY,
        ordered: bool = True,
        on_error: OnError = "raise",
        progress: Callable[[BulkProgress], None] | None = None,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
    ) -> ScheduleStream:
        """Stream schedules for any number of IDs, from an iterable or an async iterable.

        WeCom doc: https://developer.work.weixin.qq.com/document/path/97724

        IDs are de-duplicated and sent in chunks of ``chunk_size`` (≤ 1000), with at most
        ``concurrency`` chunks being fetched at once, each call within the client's rate limits
        (which cap the requests in flight: 10 by default) and retry policy. Schedules come out
        chunk by chunk: in input order (``ordered=True``; chunks that finish early are held for
        their turn, at most ``concurrency`` of them, while fetching goes on) or as chunks
        complete. Memory stays flat: only those chunks are held, plus the IDs seen, for an exact
        de-duplication (~25 bytes per ID beyond the first 131,072). The returned
        :class:`~wecom_async.ScheduleStream` also exposes ``missing``, ``failures`` and
        ``progress()``; ``progress`` is called after each chunk. See :mod:`wecom_async.batching`
        for what happens on failures.

        A list or tuple of IDs is checked at once: an ID that is no string is a
        :class:`~wecom_async.ValidationError` naming its index, and nothing is sent. From
        other iterables such an ID fails its chunk (``ChunkFailure`` with the ValidationError;
        nothing of that chunk is sent).
        """
        check_options(
            chunk_size=chunk_size,
            concurrency=concurrency,
            on_error=on_error,
            max_chunk_size=MAX_IDS_PER_GET,
            timeout=timeout,
            max_retries=max_retries,
        )
        if isinstance(schedule_ids, (list, tuple)) and not _all_str(schedule_ids):
            check_ids("schedule_ids", schedule_ids)
        return ScheduleStream(
            self,
            schedule_ids,
            chunk_size=chunk_size,
            concurrency=concurrency,
            ordered=ordered,
            on_error=on_error,
            progress=progress,
            timeout=timeout,
            max_retries=max_retries,
            stats=CallStats(),
        )

    async def get_many(
        self,
        schedule_ids: Iterable[str] | AsyncIterable[str],
        *,
        chunk_size: int = MAX_IDS_PER_GET,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_error: OnError = "raise",
        progress: Callable[[BulkProgress], None] | None = None,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
    ) -> BulkResult:
        """Fetch any number of schedules: all of them, in first-seen input order, each once.

        Like :meth:`iter_many` but collects everything into a :class:`~wecom_async.BulkResult`
        with ``schedules``, ``missing`` (IDs WeCom did not return) and, with
        ``on_error="collect"``, ``failures``. With ``on_error="raise"`` a chunk that fails after
        retries raises :class:`~wecom_async.BulkFetchError` once the chunks in flight are done;
        its ``partial`` holds everything fetched.
        """
        stream = self.iter_many(
            schedule_ids,
            chunk_size=chunk_size,
            concurrency=concurrency,
            ordered=True,
            on_error=on_error,
            progress=progress,
            timeout=timeout,
            max_retries=max_retries,
        )
        schedules: list[Schedule] = []
        try:
            async with stream:
                # Chunk by chunk: one step of the async generator per 1000 schedules, not one
                # per schedule (100,000 steps of it cost ~10 % of a bulk fetch's wall time).
                async for chunk in stream.chunks():
                    schedules.extend(chunk.schedules)
        except BulkFetchError as exc:
            exc.partial = BulkResult(schedules, stream.missing, stream.failures, stream.progress())
            raise
        return BulkResult(schedules, stream.missing, stream.failures, stream.progress())


class ScheduleListing:
    """The schedules of one calendar, page by page (``client.schedules.list_by_calendar``).

    An async iterator of :class:`~wecom_async.Schedule`: it asks for the next page when the
    previous one is used up and stops at the first empty page. Attributes:

    * ``offset``: the position reached, i.e. the start offset plus the schedules yielded so
      far. A later ``list_by_calendar(cal_id, offset=listing.offset)`` resumes right after the
      last schedule yielded, whether this run finished, stopped early or failed.
    * ``pages``: how many pages were fetched (the final empty page included).
    * ``exhausted``: True once the empty page was seen; iterating further yields nothing.

    If fetching a page raises, ``offset`` still points at the first schedule not yielded, and
    iterating again retries that page. Iterate it from one task at a time.
    """

    def __init__(
        self,
        schedules: Schedules,
        cal_id: str,
        *,
        offset: int,
        limit: int,
        timeout: TimeoutLike | None,
        max_retries: int | None,
    ) -> None:
        self.cal_id = cal_id
        self.limit = limit
        self.offset = offset
        self.pages = 0
        self._schedules = schedules
        self._timeout = timeout
        self._max_retries = max_retries
        self._buffer: deque[Schedule] = deque()
        self._exhausted = False

    def __repr__(self) -> str:
        return (
            f"<ScheduleListing cal_id={self.cal_id!r} offset={self.offset} "
            f"pages={self.pages} exhausted={self._exhausted}>"
        )

    @property
    def exhausted(self) -> bool:
        """Whether WeCom answered the empty page that ends the listing."""
        return self._exhausted

    def __aiter__(self) -> ScheduleListing:
        return self

    async def __anext__(self) -> Schedule:
        if not self._buffer:
            if self._exhausted:
                raise StopAsyncIteration
            page = await self._schedules._list_page(
                self.cal_id,
                self.offset,
                self.limit,
                timeout=self._timeout,
                max_retries=self._max_retries,
            )
            self.pages += 1
            if not page:
                self._exhausted = True
                raise StopAsyncIteration
            self._buffer.extend(page)
        schedule = self._buffer.popleft()
        self.offset += 1
        return schedule


def _unix(check: Checker, path: str, value: int | datetime) -> int:
    """Unix seconds from ``value``; a naive datetime is recorded as a problem (and reads as 0)."""
    try:
        return to_unix(value)
    except ValueError as exc:
        check.add(path, str(exc))
        return 0


def _optional_unix(check: Checker, path: str, value: int | datetime | None) -> int | None:
    return None if value is None else _unix(check, path, value)


def _op_mode(check: Checker, op_mode: OpMode) -> OpMode | None:
    """The ``op_mode`` to send: None (left out, WeCom's default) for ALL; plain ints accepted.

    A value that is no integer (``"1"``, ``True``, ``1.0``) is recorded in ``check`` (and reads
    as ALL); an unknown integer is kept, for the request's ``validate`` to report.
    """
    if not is_int(op_mode):
        check.one_of("op_mode", op_mode, set(OpMode))
        return None
    return None if op_mode == OpMode.ALL else OpMode(op_mode)


def _op_start(check: Checker, mode: OpMode | None, value: int | datetime | None) -> int | None:
    """The ``op_start_time`` to send: left out in mode ALL, where it takes no effect (doc
    97720: "only takes effect in modes 1 and 2"), after checking it all the same."""
    seconds = _optional_unix(check, "op_start_time", value)
    if mode is None and seconds is not None:
        check.uint32("op_start_time", seconds)
        return None
    return seconds


def _sendable(reminders: Reminders) -> Reminders:
    """``reminders`` without ``exclude_time_list``, which WeCom sets and requests never carry.

    Anything else than a :class:`Reminders` is kept as it is, for ``validate`` to report.
    """
    if isinstance(reminders, Reminders) and reminders.exclude_time_list:
        return attrs.evolve(reminders, exclude_time_list=())
    return reminders


def _one_off(reminders: Reminders) -> Reminders:
    """The reminder settings of ``reminders`` without its recurrence (for one occurrence)."""
    return Reminders(
        is_remind=reminders.is_remind,
        remind_before_event_secs=reminders.remind_before_event_secs,
        remind_time_diffs=reminders.remind_time_diffs,
        timezone=reminders.timezone,
    )
