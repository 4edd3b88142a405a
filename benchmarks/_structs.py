"""msgspec Struct twins of the schedule models: the speed-of-light baselines.

Same fields, types and defaults as :mod:`wecom_async.models.schedule`; plain (GC-tracked,
mutable) Structs, as a user who picked msgspec would write them, and for schedule/get answers
also a ``gc=False`` family. Flags are ``int`` (WeCom sends 0/1), enumerations plain ``int``.
"""

from typing import Any

import msgspec

__all__ = [
    "AddRequestStruct",
    "GetResponseStruct",
    "RemindersInputStruct",
    "ScheduleInputStruct",
    "UntrackedGetResponseStruct",
    "UserIdStruct",
]


def _get_response_struct(*, gc: bool) -> Any:
    """The twin of a schedule/get answer, its parts tracked by the garbage collector or not.

    (Real annotations, not strings: msgspec resolves them in this function's scope.)
    """

    class AttendeeStruct(msgspec.Struct, gc=gc):
        userid: str
        response_status: int = 0

    class ExcludeTimeStruct(msgspec.Struct, gc=gc):
        start_time: int

    class RemindersStruct(msgspec.Struct, gc=gc):
        is_remind: int = 0
        remind_before_event_secs: int = 0
        remind_time_diffs: tuple[int, ...] = ()
        is_repeat: int = 0
        repeat_type: int = 0
        repeat_until: int = 0
        is_custom_repeat: int = 0
        repeat_interval: int = 0
        repeat_day_of_week: tuple[int, ...] = ()
        repeat_day_of_month: tuple[int, ...] = ()
        timezone: int = 8
        exclude_time_list: tuple[ExcludeTimeStruct, ...] = ()

    class ScheduleStruct(msgspec.Struct, gc=gc):
        schedule_id: str
        start_time: int
        end_time: int
        admins: tuple[str, ...] = ()
        attendees: tuple[AttendeeStruct, ...] = ()
        summary: str = ""
        description: str = ""
        reminders: RemindersStruct = msgspec.field(default_factory=RemindersStruct)
        location: str = ""
        cal_id: str = ""
        status: int = 0
        is_whole_day: int = 0
        sequence: int = 0

    class GetResponseStruct(msgspec.Struct, gc=gc):
        errcode: int = 0
        errmsg: str = ""
        schedule_list: tuple[ScheduleStruct, ...] = ()

    return GetResponseStruct


#: As a user who picked msgspec would write them (the collector tracks them).
GetResponseStruct = _get_response_struct(gc=True)
#: The same, never tracked (``gc=False``): the best a hand-written pipeline keeping every
#: schedule can do (B5).
UntrackedGetResponseStruct = _get_response_struct(gc=False)


# --- request side: what schedule/add sends (unset fields left out) ---------------------------


class UserIdStruct(msgspec.Struct):
    userid: str


class RemindersInputStruct(msgspec.Struct, omit_defaults=True):
    is_remind: int = 0
    remind_before_event_secs: int = 0
    remind_time_diffs: tuple[int, ...] = ()
    is_repeat: int = 0
    repeat_type: int = 0
    repeat_until: int = 0
    is_custom_repeat: int = 0
    repeat_interval: int = 0
    repeat_day_of_week: tuple[int, ...] = ()
    repeat_day_of_month: tuple[int, ...] = ()
    timezone: int = 8


class ScheduleInputStruct(msgspec.Struct, omit_defaults=True):
    start_time: int
    end_time: int
    admins: tuple[str, ...] | None = None
    attendees: tuple[UserIdStruct, ...] | None = None
    summary: str | None = None
    description: str | None = None
    reminders: RemindersInputStruct | None = None
    location: str | None = None
    cal_id: str | None = None
    is_whole_day: int | None = None


class AddRequestStruct(msgspec.Struct, omit_defaults=True):
    schedule: ScheduleInputStruct
    agentid: int | None = None
