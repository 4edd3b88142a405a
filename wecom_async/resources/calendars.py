"""``client.calendars``: the calendar (日历) endpoints, one keyword-only method each."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs

from ..batching import DEFAULT_CONCURRENCY
from ..errors import NotFoundError
from ..models._common import id_tuple, reject_str
from ..models._validation import Checker, check_ids, check_options
from ..models.calendar import (
    MAX_CAL_IDS_PER_GET,
    AddCalendarRequest,
    AddCalendarResponse,
    Calendar,
    CalendarInput,
    CalendarShare,
    CalendarWriteResult,
    DeleteCalendarRequest,
    GetCalendarsRequest,
    GetCalendarsResponse,
    PublicRange,
    UpdateCalendarRequest,
    UpdateCalendarResponse,
    normalize_shares,
)
from ..models.schedule import MAX_CAL_ID_BYTES, OKResponse
from .schedules import UNSET, _given, _Unset

if TYPE_CHECKING:
    from ..client import TimeoutLike, WeComClient

__all__ = ["Calendars"]

PATH_ADD = "oa/calendar/add"
PATH_UPDATE = "oa/calendar/update"
PATH_GET = "oa/calendar/get"
PATH_DELETE = "oa/calendar/del"


class Calendars:
    """The calendar endpoints of one client (``client.calendars``)."""

    def __init__(self, client: WeComClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<Calendars of {self._client!r}>"

    async def add(
        self,
        *,
        summary: str,
        color: str,
        description: str | None = None,
        admins: Iterable[str] | None = None,
        shares: Iterable[str | CalendarShare] | None = None,
        is_public: bool | None = None,
        public_range: PublicRange | None = None,
        is_corp_calendar: bool | None = None,
        set_as_default: bool | None = None,
        agentid: int | None = None,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
    ) -> CalendarWriteResult:
        """Create a calendar; return its ``cal_id`` and the shares WeCom refused.

        WeCom doc: https://developer.work.weixin.qq.com/document/path/93647

        ``summary`` is 1–128 characters and ``color`` is ``"#RRGGBB"``. ``shares`` takes user
        IDs (permission ``VIEW``) or :class:`~wecom_async.CalendarShare` objects, at most 2000;
        every admin (at most 3) must be among them. ``is_public`` and ``is_corp_calendar``
        cannot change later; ``public_range`` is for public calendars, and a corp calendar
        (全员日历) must be public with a non-empty ``public_range``. ``set_as_default`` makes it
        this app's default calendar (where schedules without ``cal_id`` go). Fields left as
        None are not sent. Every documented limit is checked first
        (:class:`~wecom_async.ValidationError`, nothing sent). A ``public_range`` for a
        calendar that is neither public nor a corp calendar is checked, then left out of the
        request: the docs say it only takes effect on public calendars.

        WeCom creates the calendar even when it refuses some shares (an unknown user, say):
        they are in the result's ``fail_result.shares``; check ``result.ok``. Not resent after
        the request may have reached WeCom (no idempotency key).
        """
        request = AddCalendarRequest(
            calendar=CalendarInput(
                summary=summary,
                color=color,
                admins=None if admins is None else id_tuple("admins", admins),
                description=description,
                shares=None if shares is None else normalize_shares(shares),
                is_public=is_public,
                public_range=public_range,
                is_corp_calendar=is_corp_calendar,
                set_as_default=set_as_default,
            ),
            agentid=agentid,
        )
        request.validate()
        if public_range is not None and not (is_public or is_corp_calendar):
            request = attrs.evolve(
                request, calendar=attrs.evolve(request.calendar, public_range=None)
            )
        answer = await self._client._call_model(
            PATH_ADD,
            request,
            AddCalendarResponse,
            idempotent=False,
            timeout=timeout,
            max_retries=max_retries,
        )
        return CalendarWriteResult(answer.cal_id, answer.fail_result)

    async def update(
        self,
        cal_id: str,
        *,
        summary: str,
        color: str,
        description: str | None = None,
        admins: Iterable[str] | None = None,
        shares: Iterable[str | CalendarShare] | None = None,
        public_range: PublicRange | None = None,
        skip_public_range: bool = False,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
    ) -> CalendarWriteResult:
        """Overwrite a calendar; return its ``cal_id`` and the shares WeCom refused.

        WeCom doc: https://developer.work.weixin.qq.com/document/path/97716

        **calendar/update overwrites, it does not merge**: ``description``, ``admins`` and
        ``shares`` left as None are cleared, and so is the public range unless
        ``skip_public_range=True`` (which keeps it; ``public_range`` must then be None). To
        change a few fields and keep the rest, use :meth:`patch`. ``is_public`` and
        ``is_corp_calendar`` cannot change. Limits as for :meth:`add`, except that admins need
        not be among the shares (doc 97716 states only "at most 3 admins"; WeCom has the last
        word). Not resent after the request may have reached WeCom.
        """
        request = UpdateCalendarRequest(
            calendar=CalendarInput(
                cal_id=cal_id,
                summary=summary,
                color=color,
                admins=None if admins is None else id_tuple("admins", admins),
                description=description,
                shares=None if shares is None else normalize_shares(shares),
                public_range=public_range,
            ),
            # False is left out (WeCom's default); a value that is no bool goes to validate.
            skip_public_range=(skip_public_range or None)
            if type(skip_public_range) is bool
            else skip_public_range,
        )
        request.validate()
        answer = await self._client._call_model(
            PATH_UPDATE,
            request,
            UpdateCalendarResponse,
            idempotent=False,
            timeout=timeout,
            max_retries=max_retries,
        )
        return CalendarWriteResult(cal_id, answer.fail_result)

    async def patch(
        self,
        cal_id: str,
        *,
        summary: str | _Unset = UNSET,
        color: str | _Unset = UNSET,
        description: str | _Unset = UNSET,
        admins: Iterable[str] | _Unset = UNSET,
        shares: Iterable[str | CalendarShare] | _Unset = UNSET,
        public_range: PublicRange | _Unset = UNSET,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
    ) -> CalendarWriteResult:
        """Change only the fields given and keep every other one; return like :meth:`update`.

        WeCom docs: https://developer.work.weixin.qq.com/document/path/97717 (get) and
        https://developer.work.weixin.qq.com/document/path/97716 (update)

        Because calendar/update overwrites, this reads the calendar (calendar/get), applies
        the changes and sends the whole calendar back; a public range not given is kept by
        WeCom itself (``skip_public_range``). ``shares`` replaces the shares as a whole.

        **Read-modify-write race**: WeCom has no version check on update. A change made by
        someone else between the read and the update is overwritten with the value read, for
        every field sent. Serialise writers of one calendar when that matters.

        Raises :class:`~wecom_async.NotFoundError` (errcode 90457) when calendar/get does not
        return the calendar. Assumption: the client raises it from the calendar/get answer
        (unknown, deleted and other apps' calendars are all left out of it), without sending
        the update.

        The arguments given are checked before the read (:class:`~wecom_async.ValidationError`,
        nothing sent).
        """
        check = Checker()
        check.id("calendar.cal_id", cal_id, MAX_CAL_ID_BYTES)
        CalendarInput(
            # Fields not given stand at values no rule refuses; the whole update is checked
            # again once the read has filled them in.
            summary=_given(summary, "-"),
            color=_given(color, "#000000"),
            description=_given(description, None),
            admins=None if isinstance(admins, _Unset) else id_tuple("admins", admins),
            shares=None if isinstance(shares, _Unset) else normalize_shares(shares),
            public_range=_given(public_range, None),
        ).validate(check, admins_among_shares=False)
        check.raise_if_any("calendar/update request")
        current = await self._get_one(cal_id, timeout=timeout, max_retries=max_retries)
        return await self.update(
            cal_id,
            summary=_given(summary, current.summary),
            color=_given(color, current.color),
            description=_given(description, current.description),
            admins=_given(admins, current.admins),
            shares=_given(shares, current.shares),
            public_range=None if isinstance(public_range, _Unset) else public_range,
            skip_public_range=isinstance(public_range, _Unset),
            timeout=timeout,
            max_retries=max_retries,
        )

    async def _get_one(
        self, cal_id: str, *, timeout: TimeoutLike | None, max_retries: int | None
    ) -> Calendar:
        for calendar in await self._get_chunk((cal_id,), timeout=timeout, max_retries=max_retries):
            if calendar.cal_id == cal_id:
                return calendar
        raise NotFoundError(90457, "calendar/get did not return the calendar", path=PATH_GET)

    async def get(
        self,
        cal_ids: Iterable[str],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
    ) -> list[Calendar]:
        """Fetch calendars by ID: any number, in first-seen input order, each once.

        WeCom doc: https://developer.work.weixin.qq.com/document/path/97717

        IDs are de-duplicated and sent 1000 per call (WeCom's cap), with at most
        ``concurrency`` calls in flight. If a call still fails after retries, the calls in
        flight are cancelled and its error is raised. An empty list is a
        :class:`~wecom_async.ValidationError` (WeCom answers 90458 to it).

        Assumption: WeCom leaves unknown, deleted and other apps' calendars out of its answer
        (the docs are silent); they are left out here too: compare ``cal_id`` to find them.
        """
        reject_str("cal_ids", cal_ids)
        check_options(concurrency=concurrency, timeout=timeout, max_retries=max_retries)
        cal_ids = list(cal_ids)
        check_ids("cal_ids", cal_ids)  # by input index, before de-duplicating
        ids = tuple(dict.fromkeys(cal_ids))
        GetCalendarsRequest(ids).validate(batched=True)
        gate = asyncio.Semaphore(concurrency)

        async def fetch(chunk: tuple[str, ...]) -> tuple[Calendar, ...]:
            async with gate:
                return await self._get_chunk(chunk, timeout=timeout, max_retries=max_retries)

        tasks = [
            asyncio.ensure_future(fetch(ids[i : i + MAX_CAL_IDS_PER_GET]))
            for i in range(0, len(ids), MAX_CAL_IDS_PER_GET)
        ]
        try:
            pages = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        found = {c.cal_id: c for page in pages for c in page}
        return [found[i] for i in ids if i in found]

    async def _get_chunk(
        self, cal_ids: tuple[str, ...], *, timeout: TimeoutLike | None, max_retries: int | None
    ) -> tuple[Calendar, ...]:
        request = GetCalendarsRequest(cal_ids)
        request.validate()
        answer = await self._client._call_model(
            PATH_GET,
            request,
            GetCalendarsResponse,
            idempotent=True,
            timeout=timeout,
            max_retries=max_retries,
        )
        return answer.calendar_list

    async def delete(
        self,
        cal_id: str,
        *,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
    ) -> None:
        """Delete a calendar.

        WeCom doc: https://developer.work.weixin.qq.com/document/path/97718 (``oa/calendar/del``)

        Assumption: its schedules are cancelled with it (schedule/get returns them with
        ``status`` 1); deleting the app's default calendar leaves the app without one, so
        ``schedules.add`` then needs ``cal_id`` (WeCom answers 90708). Not resent after the
        request may have reached WeCom.
        """
        request = DeleteCalendarRequest(cal_id)
        request.validate()
        await self._client._call_model(
            PATH_DELETE,
            request,
            OKResponse,
            idempotent=False,
            timeout=timeout,
            max_retries=max_retries,
        )
