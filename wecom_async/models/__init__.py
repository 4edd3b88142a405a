"""Request and response models (frozen attrs classes with slots)."""

from ._common import WireIntEnum
from .schedule import (
    AddScheduleRequest,
    AddScheduleResponse,
    Attendee,
    ExcludeTime,
    GetSchedulesRequest,
    GetSchedulesResponse,
    Reminders,
    RepeatType,
    ResponseStatus,
    Schedule,
    ScheduleInput,
    ScheduleStatus,
)

__all__ = [
    "AddScheduleRequest",
    "AddScheduleResponse",
    "Attendee",
    "ExcludeTime",
    "GetSchedulesRequest",
    "GetSchedulesResponse",
    "Reminders",
    "RepeatType",
    "ResponseStatus",
    "Schedule",
    "ScheduleInput",
    "ScheduleStatus",
    "WireIntEnum",
]
