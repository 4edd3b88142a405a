"""Typed schedule and calendar callback events, parsed from the decrypted (inner) XML.

WeCom's XML for these events (doc 98111, legacy ``add_schedule`` from doc 93651)::

    <xml>
      <ToUserName><![CDATA[ww-corp-id]]></ToUserName>
      <FromUserName><![CDATA[sys]]></FromUserName>
      <CreateTime>1348831860</CreateTime>
      <MsgType><![CDATA[event]]></MsgType>
      <Event><![CDATA[modify_schedule]]></Event>
      <CalId><![CDATA[wcjgewCwAAqeJcPI1d8Pwbjt7nttzAAA]]></CalId>
      <ScheduleId><![CDATA[17c7d2bd9f20d652840f72f59e796AAA]]></ScheduleId>
    </xml>

An event we do not know, or a known one missing a field we need, becomes an
:class:`UnknownEvent` that keeps every field and the XML: a new WeCom event never breaks the
receiver, and nothing is lost.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import ClassVar

import attrs

from ._xml import MAX_BODY_BYTES, cdata, parse_fields

__all__ = [
    "CalendarDeleted",
    "CalendarEvent",
    "CalendarModified",
    "CallbackEvent",
    "ScheduleAdded",
    "ScheduleDeleted",
    "ScheduleEvent",
    "ScheduleModified",
    "ScheduleResponded",
    "UnknownEvent",
    "build_event_xml",
    "parse_event",
]


@attrs.frozen(kw_only=True)
class CallbackEvent:
    """Base class: the fields every WeCom callback event has.

    ``to_user_name`` is the corp ID, ``from_user_name`` the sender (``sys`` for these events),
    ``create_time`` a Unix time in seconds, ``event`` WeCom's event name.
    """

    #: WeCom's ``Event`` value for this class (empty for the base and UnknownEvent).
    EVENT: ClassVar[str] = ""

    to_user_name: str
    from_user_name: str
    create_time: int
    #: Defaults to the class's WeCom event name.
    event: str = attrs.field(default=attrs.Factory(lambda self: type(self).EVENT, takes_self=True))

    @property
    def dedup_key(self) -> bytes:
        """Equal for WeCom's redeliveries of one message (16 bytes).

        Made of every field of the event (for an :class:`UnknownEvent`, every field WeCom sent).
        ``CreateTime`` has a one-second resolution, so two identical events for the same
        schedule in the same second share a key: for a change feed that re-fetches the
        schedule, the second one adds nothing.
        """
        parts = [type(self).__name__]
        for field in attrs.fields(type(self)):
            if field.name != "xml":
                parts.append(repr(getattr(self, field.name)))
        text = "\x00".join(parts).encode("utf-8", "surrogatepass")
        return hashlib.blake2b(text, digest_size=16).digest()


@attrs.frozen(kw_only=True)
class CalendarEvent(CallbackEvent):
    """An event about one calendar."""

    cal_id: str


@attrs.frozen(kw_only=True)
class ScheduleEvent(CalendarEvent):
    """An event about one schedule (of calendar ``cal_id``)."""

    schedule_id: str


@attrs.frozen(kw_only=True)
class ScheduleAdded(ScheduleEvent):
    """``add_schedule``: a schedule was created (legacy event of doc 93651)."""

    EVENT: ClassVar[str] = "add_schedule"


@attrs.frozen(kw_only=True)
class ScheduleModified(ScheduleEvent):
    """``modify_schedule``: a schedule was changed (fetch it for the new state)."""

    EVENT: ClassVar[str] = "modify_schedule"


@attrs.frozen(kw_only=True)
class ScheduleDeleted(ScheduleEvent):
    """``delete_schedule``: a schedule was deleted (cancelled)."""

    EVENT: ClassVar[str] = "delete_schedule"


@attrs.frozen(kw_only=True)
class ScheduleResponded(ScheduleEvent):
    """``respond_schedule``: an attendee accepted or declined (fetch for the attendee status)."""

    EVENT: ClassVar[str] = "respond_schedule"


@attrs.frozen(kw_only=True)
class CalendarModified(CalendarEvent):
    """``modify_calendar``: a calendar was changed."""

    EVENT: ClassVar[str] = "modify_calendar"


@attrs.frozen(kw_only=True)
class CalendarDeleted(CalendarEvent):
    """``delete_calendar``: a calendar (and so its schedules) was deleted."""

    EVENT: ClassVar[str] = "delete_calendar"


@attrs.frozen(kw_only=True)
class UnknownEvent(CallbackEvent):
    """An event we have no class for (or a known one missing a field): nothing is dropped.

    ``fields`` holds every leaf element as ``(path, text)`` in document order (``Parent/Child``
    for nested ones) and ``xml`` the decrypted XML itself. The base fields are ``""`` / ``0``
    when WeCom did not send them.
    """

    fields: tuple[tuple[str, str], ...]
    xml: bytes = attrs.field(repr=False)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The text of the first field called ``name`` (a path for nested ones)."""
        return next((text for path, text in self.fields if path == name), default)


_SCHEDULE_EVENTS: tuple[type[ScheduleEvent], ...] = (
    ScheduleAdded,
    ScheduleModified,
    ScheduleDeleted,
    ScheduleResponded,
)
_CALENDAR_EVENTS: tuple[type[CalendarEvent], ...] = (CalendarModified, CalendarDeleted)
_BY_NAME: Mapping[str, type[CalendarEvent]] = {
    cls.EVENT: cls for cls in (*_SCHEDULE_EVENTS, *_CALENDAR_EVENTS)
}


def _create_time(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 19 else None


def parse_event(xml: bytes) -> CallbackEvent:
    """The typed event in a decrypted callback (the bytes :meth:`CallbackCrypto.decrypt` returns).

    Raises :class:`~wecom_async.errors.CallbackPayloadError` when ``xml`` is not well-formed,
    has a DTD or entity declarations, is over 64 KiB or nested too deep. Any well-formed event
    parses: an unknown one (or one missing a field) is an :class:`UnknownEvent`.
    """
    fields = parse_fields(xml, max_bytes=MAX_BODY_BYTES)
    first: dict[str, str] = {}
    for path, text in fields:
        first.setdefault(path, text)
    create_time = _create_time(first.get("CreateTime"))
    cls = _BY_NAME.get(first.get("Event", ""))
    base = ("ToUserName", "FromUserName", "Event")
    if (
        cls is not None
        and first.get("MsgType") == "event"
        and create_time is not None
        and all(name in first for name in (*base, "CalId"))
        and (not issubclass(cls, ScheduleEvent) or "ScheduleId" in first)
    ):
        if issubclass(cls, ScheduleEvent):
            return cls(
                to_user_name=first["ToUserName"],
                from_user_name=first["FromUserName"],
                create_time=create_time,
                event=first["Event"],
                cal_id=first["CalId"],
                schedule_id=first["ScheduleId"],
            )
        return cls(
            to_user_name=first["ToUserName"],
            from_user_name=first["FromUserName"],
            create_time=create_time,
            event=first["Event"],
            cal_id=first["CalId"],
        )
    return UnknownEvent(
        to_user_name=first.get("ToUserName", ""),
        from_user_name=first.get("FromUserName", ""),
        create_time=create_time or 0,
        event=first.get("Event", ""),
        fields=fields,
        xml=xml,
    )


def build_event_xml(event: CallbackEvent) -> bytes:
    """The decrypted XML WeCom sends for ``event`` (for fake servers and receiver tests).

    ``parse_event(build_event_xml(e)) == e`` for every typed event; an :class:`UnknownEvent`
    gives back its ``xml``.
    """
    if isinstance(event, UnknownEvent):
        return event.xml
    parts = [
        f"<ToUserName>{cdata(event.to_user_name)}</ToUserName>",
        f"<FromUserName>{cdata(event.from_user_name)}</FromUserName>",
        f"<CreateTime>{event.create_time}</CreateTime>",
        "<MsgType><![CDATA[event]]></MsgType>",
        f"<Event>{cdata(event.event)}</Event>",
    ]
    if isinstance(event, CalendarEvent):
        parts.append(f"<CalId>{cdata(event.cal_id)}</CalId>")
    if isinstance(event, ScheduleEvent):
        parts.append(f"<ScheduleId>{cdata(event.schedule_id)}</ScheduleId>")
    return ("<xml>" + "".join(parts) + "</xml>").encode("utf-8")
