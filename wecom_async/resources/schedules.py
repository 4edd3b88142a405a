"""``client.schedules``: the schedule (日程) endpoints, one keyword-only method each."""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from .. import _converter, _sansio
from .._retry import CallStats
from ..batching import (
    DEFAULT_CONCURRENCY,
    BulkFetchError,
    BulkProgress,
    BulkResult,
    OnError,
    ScheduleStream,
)
from ..models._common import to_unix
from ..models._validation import Checker
from ..models.schedule import (
    MAX_IDS_PER_GET,
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
            await self._get_chunk(tuple(schedule_ids), timeout=timeout, max_retries=max_retries)
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
        answer = await self._client._call(
            PATH_GET,
            _converter.encode(request),
            _sansio.model_decoder(GetSchedulesResponse, PATH_GET),
            idempotent=True,
            timeout=timeout,
            max_retries=max_retries,
            stats=stats,
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
        ``concurrency`` chunks in flight, each call within the client's rate limits and retry
        policy. Schedules come out chunk by chunk: in input order (``ordered=True``) or as
        chunks complete. Memory stays flat: only the chunks in flight are held (plus the set of
        IDs seen, for de-duplication). The returned :class:`~wecom_async.ScheduleStream` also
        exposes ``missing``, ``failures`` and ``progress()``; ``progress`` is called after each
        chunk. See :mod:`wecom_async.batching` for what happens on failures.
        """
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
            on_error="collect",
            progress=progress,
            timeout=timeout,
            max_retries=max_retries,
        )
        schedules = [s async for s in stream]
        result = BulkResult(schedules, stream.missing, stream.failures, stream.progress())
        if result.failures and on_error == "raise":
            raise BulkFetchError(result.failures, partial=result) from result.failures[0].error
        return result


def _unix(check: Checker, path: str, value: int | datetime) -> int:
    """Unix seconds from ``value``; a naive datetime is recorded as a problem (and reads as 0)."""
    try:
        return to_unix(value)
    except ValueError as exc:
        check.add(path, str(exc))
        return 0
