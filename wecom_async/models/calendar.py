"""Calendar (日历) models: what the calendar endpoints send and answer.

Field names and wire types follow the WeCom pages (doc 93647 add, doc 97716 update, doc 97717 get,
calendar/del). The classes follow the same rules as the schedule models: frozen attrs classes with
slots and no attrs validators or converters (msgspec decodes answers straight into them), ``None``
on request models means "not set", and requests are checked by explicit ``validate`` methods.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import attrs

from ._common import WireIntEnum, reject_str
from ._dicts import WireDict
from ._validation import Checker, describe
from .schedule import MAX_CAL_ID_BYTES, MAX_USERID_BYTES

__all__ = [
    "AddCalendarRequest",
    "AddCalendarResponse",
    "Calendar",
    "CalendarFailResult",
    "CalendarInput",
    "CalendarPermission",
    "CalendarShare",
    "CalendarWriteResult",
    "DeleteCalendarRequest",
    "GetCalendarsRequest",
    "GetCalendarsResponse",
    "PublicRange",
    "ShareFailure",
    "UpdateCalendarRequest",
    "UpdateCalendarResponse",
]

# --- documented limits (doc 93647, doc 97716) ----------------------------------------------
MAX_ADMINS = 3
MIN_SUMMARY_CHARS = 1
MAX_SUMMARY_CHARS = 128
MAX_DESCRIPTION_CHARS = 512
MAX_SHARES = 2000
MAX_PUBLIC_USERIDS = 1000
MAX_PUBLIC_PARTYIDS = 100
MAX_CAL_IDS_PER_GET = 1000
#: ``"#RRGGBB"``. Assumption: lower-case hex digits are accepted too (the docs show upper case).
COLOR_RE = re.compile(r"#[0-9A-Fa-f]{6}")
_PERMISSIONS = frozenset({1, 3})


class CalendarPermission(WireIntEnum):
    """``shares[].permission``: what a member the calendar is shared with may see."""

    VIEW = 1  # 可查看 (WeCom's default when absent)
    FREE_BUSY = 3  # 仅查看闲忙状态


@attrs.frozen(slots=True)
class CalendarShare(WireDict):
    """A member the calendar is shared with (``shares[]``).

    ``permission`` defaults to ``VIEW``, WeCom's documented default, so a share at the default is
    sent as ``{"userid": …}`` alone and reads back the same.
    """

    userid: str
    permission: CalendarPermission = CalendarPermission.VIEW


@attrs.frozen(slots=True)
class PublicRange(WireDict):
    """Who may subscribe to a public calendar (``public_range``).

    ``partyids`` are department IDs (integers in WeCom's contact API).
    """

    userids: tuple[str, ...] = ()
    partyids: tuple[int, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.userids and not self.partyids

    def validate(self, check: Checker, path: str) -> None:
        """Append every broken documented limit (and every wrong type) to ``check``."""
        if _is_list(check, f"{path}.userids", self.userids):
            check.max_items(f"{path}.userids", self.userids, MAX_PUBLIC_USERIDS)
            for index, userid in enumerate(self.userids):
                _check_userid(check, f"{path}.userids[{index}]", userid)
        if _is_list(check, f"{path}.partyids", self.partyids):
            check.max_items(f"{path}.partyids", self.partyids, MAX_PUBLIC_PARTYIDS)
            for index, partyid in enumerate(self.partyids):
                check.uint32(f"{path}.partyids[{index}]", partyid)


@attrs.frozen(slots=True)
class Calendar(WireDict):
    """A calendar as calendar/get answers it (doc 97717).

    Unknown fields in the answer are ignored; missing optional ones take their defaults.
    The admins are read from ``admins`` (the field table's name) and, when that is absent or
    empty, from ``adminis`` (the page's example spells it so): either way they are in
    ``admins``, so a ``patch`` sends them back instead of clearing them.
    """

    cal_id: str
    admins: tuple[str, ...] = ()
    summary: str = ""
    color: str = ""
    description: str = ""
    shares: tuple[CalendarShare, ...] = ()
    is_public: bool = False
    public_range: PublicRange = PublicRange()
    is_corp_calendar: bool = False
    #: The wire spelling ``adminis`` of doc 97717's example, only for decoding: read ``admins``.
    adminis: tuple[str, ...] = attrs.field(default=(), repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        # msgspec and cattrs both build the model through __init__, which calls this.
        if self.adminis and not self.admins:
            object.__setattr__(self, "admins", self.adminis)

    @property
    def share_ids(self) -> tuple[str, ...]:
        """The user IDs the calendar is shared with, in order."""
        return tuple(s.userid for s in self.shares)


@attrs.frozen(slots=True)
class CalendarInput(WireDict):
    """The writable fields of a calendar, as calendar/add and calendar/update send them.

    ``None`` means "not set": the field is left out of the request. ``cal_id`` is for update
    only (it names the calendar); ``is_public``, ``is_corp_calendar`` and ``set_as_default`` are
    for add only (WeCom cannot change them later).
    """

    summary: str
    color: str
    admins: tuple[str, ...] | None = None
    description: str | None = None
    shares: tuple[CalendarShare, ...] | None = None
    is_public: bool | None = None
    public_range: PublicRange | None = None
    is_corp_calendar: bool | None = None
    set_as_default: bool | None = None
    cal_id: str | None = None

    def validate(
        self, check: Checker, path: str = "calendar", *, admins_among_shares: bool = True
    ) -> None:
        """Append every broken documented limit (and every wrong type) to ``check``.

        With ``admins_among_shares`` (add), every admin must be among the shares (doc 93647:
        管理员必须在通知范围成员的列表中). The update page (doc 97716) states only "at most 3
        admins", and a calendar read from WeCom may have admins that are not among its shares
        (the creator, say): update and patch leave that rule to WeCom.
        """
        if check.is_str(f"{path}.summary", self.summary) and not (
            MIN_SUMMARY_CHARS <= len(self.summary) <= MAX_SUMMARY_CHARS
        ):
            check.add(
                f"{path}.summary",
                f"must be {MIN_SUMMARY_CHARS}…{MAX_SUMMARY_CHARS} characters, "
                f"got {len(self.summary)}",
            )
        if check.is_str(f"{path}.color", self.color) and COLOR_RE.fullmatch(self.color) is None:
            check.add(f"{path}.color", f'must be "#RRGGBB" (hex RGB), got {self.color!r}')
        check.text(f"{path}.description", self.description, MAX_DESCRIPTION_CHARS)
        share_ids: set[str] = set()
        if self.shares is not None:
            check.max_items(f"{path}.shares", self.shares, MAX_SHARES)
            for index, share in enumerate(self.shares):
                _check_userid(check, f"{path}.shares[{index}].userid", share.userid)
                check.one_of(f"{path}.shares[{index}].permission", share.permission, _PERMISSIONS)
                if isinstance(share.userid, str):
                    share_ids.add(share.userid)
        if self.admins is not None:
            check.max_items(f"{path}.admins", self.admins, MAX_ADMINS)
            for index, admin in enumerate(self.admins):
                _check_userid(check, f"{path}.admins[{index}]", admin)
                if admins_among_shares and isinstance(admin, str) and admin not in share_ids:
                    check.add(f"{path}.admins[{index}]", f"admin {admin!r} must be among shares")
        for name in ("is_public", "is_corp_calendar", "set_as_default"):
            check.flag(f"{path}.{name}", getattr(self, name))
        if self.public_range is not None:
            if isinstance(self.public_range, PublicRange):
                self.public_range.validate(check, f"{path}.public_range")
            else:
                check.add(
                    f"{path}.public_range",
                    f"must be a PublicRange, got {describe(self.public_range)}",
                )
        if self.cal_id is not None:
            check.id(f"{path}.cal_id", self.cal_id, MAX_CAL_ID_BYTES)


def _check_userid(check: Checker, path: str, userid: object) -> None:
    check.id(path, userid, MAX_USERID_BYTES)


def _is_list(check: Checker, path: str, values: object) -> bool:
    """Whether *values* is a list or tuple (a string would be sent one character per item)."""
    if isinstance(values, (tuple, list)):
        return True
    check.add(path, f"must be a list, got {describe(values)}")
    return False


# --- request and response envelopes --------------------------------------------------------


@attrs.frozen(slots=True)
class AddCalendarRequest(WireDict):
    """Body of calendar/add. ``agentid`` is only for old third-party multi-app suites."""

    calendar: CalendarInput
    agentid: int | None = None

    def validate(self) -> None:
        """Raise :class:`~wecom_async.ValidationError` listing every broken limit.

        Besides the field limits (doc 93647): ``public_range`` applies to public calendars
        only, and a corp calendar (全员日历) is a public calendar that needs a ``public_range``
        and cannot be the default calendar. Assumptions: ``public_range`` on a calendar that is
        neither public nor a corp calendar is not an error: the docs say it "only takes effect"
        on public calendars, and ``client.calendars.add`` leaves it out of such a request; a
        corp calendar is public whether ``is_public`` is sent or not, so only
        ``is_public=False`` with it is reported.
        """
        check = Checker()
        calendar = self.calendar
        calendar.validate(check)
        if calendar.cal_id is not None:
            check.add("calendar.cal_id", "chosen by WeCom: leave it out of an add")
        if calendar.is_corp_calendar:
            if calendar.is_public is False:
                check.add("calendar.is_public", "a corp calendar is a public calendar")
            if calendar.public_range is None or calendar.public_range.is_empty:
                check.add("calendar.public_range", "a corp calendar needs a public range")
            if calendar.set_as_default:
                check.add("calendar.set_as_default", "a corp calendar cannot be the default")
        check.uint32("agentid", self.agentid)
        check.raise_if_any("calendar/add request")


@attrs.frozen(slots=True)
class UpdateCalendarRequest(WireDict):
    """Body of calendar/update: overwrites the calendar (fields left out are cleared).

    ``skip_public_range`` keeps the stored public range; ``public_range`` must then be left out.
    """

    calendar: CalendarInput
    skip_public_range: bool | None = None

    def validate(self) -> None:
        """Raise :class:`~wecom_async.ValidationError` listing every broken limit."""
        check = Checker()
        calendar = self.calendar
        if calendar.cal_id is None:
            check.add("calendar.cal_id", "required")
        calendar.validate(check, admins_among_shares=False)
        for name in ("is_public", "is_corp_calendar", "set_as_default"):
            if getattr(calendar, name) is not None:
                check.add(f"calendar.{name}", "cannot change after add: leave it out")
        check.flag("skip_public_range", self.skip_public_range)
        if self.skip_public_range and calendar.public_range is not None:
            check.add("calendar.public_range", "must be left out with skip_public_range")
        check.raise_if_any("calendar/update request")


@attrs.frozen(slots=True)
class ShareFailure(WireDict):
    """A share WeCom refused (``fail_result.shares[]``): the user and why."""

    userid: str = ""
    errcode: int = 0
    errmsg: str = ""


@attrs.frozen(slots=True)
class CalendarFailResult(WireDict):
    """``fail_result`` of calendar/add and calendar/update: the inputs WeCom refused."""

    shares: tuple[ShareFailure, ...] = ()


@attrs.frozen(slots=True)
class AddCalendarResponse(WireDict):
    errcode: int = 0
    errmsg: str = ""
    cal_id: str = ""
    fail_result: CalendarFailResult = CalendarFailResult()


@attrs.frozen(slots=True)
class UpdateCalendarResponse(WireDict):
    errcode: int = 0
    errmsg: str = ""
    fail_result: CalendarFailResult = CalendarFailResult()


@attrs.frozen(slots=True)
class CalendarWriteResult(WireDict):
    """What ``client.calendars.add``/``update``/``patch`` return.

    The calendar was written, but WeCom may have refused some shares (an unknown user, say):
    those are in ``fail_result.shares``, each with its errcode, instead of failing the call.
    """

    cal_id: str
    fail_result: CalendarFailResult = CalendarFailResult()

    @property
    def ok(self) -> bool:
        """True when every share was accepted."""
        return not self.fail_result.shares

    @property
    def failed_userids(self) -> tuple[str, ...]:
        """The user IDs of the refused shares, in WeCom's order."""
        return tuple(f.userid for f in self.fail_result.shares)


@attrs.frozen(slots=True)
class GetCalendarsRequest(WireDict):
    """Body of calendar/get: at most 1000 IDs per call."""

    cal_id_list: tuple[str, ...]

    def validate(self, *, batched: bool = False) -> None:
        """Check the IDs; ``batched`` (the caller splits them into calls) lifts the 1000 cap."""
        check = Checker()
        if not self.cal_id_list:
            check.add("cal_id_list", "must not be empty")
        if not batched:
            check.max_items("cal_id_list", self.cal_id_list, MAX_CAL_IDS_PER_GET)
        for index, cal_id in enumerate(self.cal_id_list):
            check.id(f"cal_id_list[{index}]", cal_id, MAX_CAL_ID_BYTES)
        check.raise_if_any("calendar/get request")


@attrs.frozen(slots=True)
class GetCalendarsResponse(WireDict):
    errcode: int = 0
    errmsg: str = ""
    calendar_list: tuple[Calendar, ...] = ()


@attrs.frozen(slots=True)
class DeleteCalendarRequest(WireDict):
    """Body of calendar/del."""

    cal_id: str

    def validate(self) -> None:
        check = Checker()
        check.id("cal_id", self.cal_id, MAX_CAL_ID_BYTES)
        check.raise_if_any("calendar/del request")


def normalize_shares(values: Iterable[str | CalendarShare]) -> tuple[CalendarShare, ...]:
    """User-ID strings (``VIEW``) or :class:`CalendarShare` objects → a tuple of shares."""
    reject_str("shares", values)
    return tuple(v if isinstance(v, CalendarShare) else CalendarShare(v) for v in values)
