"""Errcodes the fake answers, and errmsg formatting.

The fake speaks the wire format on its own: it does not import ``wecom_async.errors`` (the client's
exception tree), so a bug shared by both cannot hide itself.

A real errmsg looks like ``"invalid access_token, hint: [1700000000_12_3f9a…], more info at
https://open.work.weixin.qq.com/devtool/query?e=40014"``; :func:`format_errmsg` builds the same
shape. Assumption: the ``hint`` is an opaque request id; the fake makes one from the time, a
counter and random hex. The real errmsg sometimes adds ``from ip: …``; the fake leaves it out.
"""

from __future__ import annotations

import itertools
import secrets

__all__ = ["DEFAULT_ERRMSG", "FakeAPIError", "default_errmsg", "format_errmsg"]

MORE_INFO_URL = "https://open.work.weixin.qq.com/devtool/query?e="

#: Short English descriptions, close to the real ones, for the errcodes the fake can answer.
DEFAULT_ERRMSG: dict[int, str] = {
    -1: "system is busy",
    0: "ok",
    6000: "data version conflict",
    40001: "invalid credential",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40058: "invalid Request Parameter",
    40078: "invalid auth_code",
    40080: "invalid suite_secret",
    40082: "invalid suite_access_token",
    40083: "invalid suite_id",
    40084: "invalid permanent_code",
    40085: "invalid suite_ticket",
    40091: "secret is invalid",
    41001: "access_token missing",
    41002: "corpid missing",
    41004: "corpsecret missing",
    41021: "suite_id missing",
    41022: "suite_access_token missing",
    41023: "suite_ticket missing",
    41024: "suite_secret missing",
    41025: "permanent_code missing",
    41026: "auth_code missing",
    42001: "access_token expired",
    42009: "suite_access_token expired",
    43002: "require POST method",
    45009: "api freq out of limit",
    45033: "api concurrent out of limit",
    47001: "data format error",
    48002: "api forbidden",
    60011: "no privilege to access/modify contact/party/agent",
    60020: "not allow to access from your ip",
    90456: "organizer required",
    90457: "invalid cal_id",
    90458: "cal_id list is empty",
    90459: "calendar has been deleted",
    90460: "schedule has been deleted",
    90461: "invalid schedule_id",
    90462: "schedule_id list is empty",
    90464: "too many attendees",
    90465: "unsupported repeat type",
    90466: "calendar or schedule does not belong to this app",
    90469: "page size over limit",
    90470: "invalid page",
    90471: "invalid remind time",
    90472: "no privilege",
    90473: "invalid color",
    90480: "invalid timezone",
    90482: "invalid op_start_time",
    90484: "a single occurrence cannot repeat",
    90485: "invalid op_mode for this schedule",
    90486: "repeat_interval required",
    90487: "invalid repeat_day_of_month",
    90488: "start_time must be after op_start_time",
    90492: "admin is not an attendee",
    90493: "deprecated parameter",
    90700: "cancel the meeting room booking first",
    90704: "invalid remind_time_diffs",
    90708: "creator has no default calendar, cal_id required",
}

_counter = itertools.count(1)


def default_errmsg(errcode: int) -> str:
    """The bare description of *errcode* (``"unknown error"`` for codes the fake does not know)."""
    return DEFAULT_ERRMSG.get(errcode, "unknown error")


def format_errmsg(errcode: int, detail: str | None = None, *, now: float = 0.0) -> str:
    """The errmsg the fake answers for *errcode*: ``"ok"`` for 0, else the real shape.

    *detail*, when given, replaces the default description (it is what a handler says about the
    problem, e.g. ``"invalid Request Parameter: schedule.end_time < schedule.start_time"``).
    """
    if errcode == 0:
        return "ok"
    text = detail if detail is not None else default_errmsg(errcode)
    hint = f"{int(now)}_{next(_counter)}_{secrets.token_hex(8)}"
    return f"{text}, hint: [{hint}], more info at {MORE_INFO_URL}{errcode}"


class FakeAPIError(Exception):
    """Raised by an endpoint handler (or the common layer) to answer ``errcode != 0``.

    *errmsg* is the description without the ``hint``/``more info`` suffix, which the server adds.
    """

    def __init__(self, errcode: int, errmsg: str | None = None, *, verbatim: bool = False) -> None:
        self.errcode = errcode
        self.errmsg = errmsg if errmsg is not None else default_errmsg(errcode)
        #: Answer ``errmsg`` as is, without the hint/more-info suffix (injected faults' errmsg).
        self.verbatim = verbatim
        super().__init__(errcode, self.errmsg)

    def wire_errmsg(self, *, now: float = 0.0) -> str:
        """The errmsg as answered on the wire."""
        if self.verbatim:
            return self.errmsg
        return format_errmsg(self.errcode, self.errmsg, now=now)

    def __str__(self) -> str:
        return f"errcode {self.errcode}: {self.errmsg}"
