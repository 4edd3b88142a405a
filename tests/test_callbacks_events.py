"""parse_event: the documented events as typed classes, unknown ones kept whole, hostile XML
refused (CallbackPayloadError) before anything is built."""

from __future__ import annotations

import time

import attrs
import pytest

from wecom_async import CallbackPayloadError, CallbackVerificationError
from wecom_async.callbacks import (
    CalendarDeleted,
    CalendarEvent,
    CalendarModified,
    ScheduleAdded,
    ScheduleDeleted,
    ScheduleEvent,
    ScheduleModified,
    ScheduleResponded,
    UnknownEvent,
    build_event_xml,
    parse_event,
)

CAL = "wcjgewCwAAqeJcPI1d8Pwbjt7nttzAAA"
SCHED = "17c7d2bd9f20d652840f72f59e796AAA"


def doc_xml(event: str, *, schedule: bool = True, extra: str = "") -> bytes:
    """The layout of the docs' samples (doc 98111), with their newlines and tabs."""
    schedule_line = f"\t<ScheduleId><![CDATA[{SCHED}]]></ScheduleId>\n" if schedule else ""
    return (
        "<xml>\n"
        "\t<ToUserName><![CDATA[toUser]]></ToUserName>\n"
        "\t<FromUserName><![CDATA[sys]]></FromUserName>\n"
        "\t<CreateTime>1348831860</CreateTime>\n"
        "\t<MsgType><![CDATA[event]]></MsgType>\n"
        f"\t<Event><![CDATA[{event}]]></Event>\n"
        f"\t<CalId><![CDATA[{CAL}]]></CalId>\n"
        f"{schedule_line}{extra}"
        "</xml>"
    ).encode()


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("add_schedule", ScheduleAdded),
        ("modify_schedule", ScheduleModified),
        ("delete_schedule", ScheduleDeleted),
        ("respond_schedule", ScheduleResponded),
    ],
)
def test_schedule_events(name: str, cls: type[ScheduleEvent]) -> None:
    event = parse_event(doc_xml(name))
    assert type(event) is cls
    assert event == cls(
        to_user_name="toUser",
        from_user_name="sys",
        create_time=1348831860,
        event=name,
        cal_id=CAL,
        schedule_id=SCHED,
    )
    # the event name defaults to the class's
    assert (
        cls(to_user_name="a", from_user_name="b", create_time=1, cal_id="c", schedule_id="d").event
        == name
    )


@pytest.mark.parametrize(
    ("name", "cls"), [("modify_calendar", CalendarModified), ("delete_calendar", CalendarDeleted)]
)
def test_calendar_events(name: str, cls: type[CalendarEvent]) -> None:
    event = parse_event(doc_xml(name, schedule=False))
    assert event == cls(
        to_user_name="toUser", from_user_name="sys", create_time=1348831860, event=name, cal_id=CAL
    )
    assert not hasattr(event, "schedule_id")


def test_events_are_frozen_and_round_trip() -> None:
    events = [
        ScheduleModified(
            to_user_name="ww1",
            from_user_name="sys",
            create_time=1,
            cal_id="c]]>x",
            schedule_id="s<&>",
        ),
        CalendarDeleted(to_user_name="ww1", from_user_name="sys", create_time=2, cal_id="日历"),
    ]
    for event in events:
        assert parse_event(build_event_xml(event)) == event
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            event.cal_id = "other"  # type: ignore[misc]


def test_unknown_event_keeps_everything() -> None:
    xml = doc_xml(
        "modify_meeting_room",
        schedule=False,
        extra="\t<Extra><Item><![CDATA[a]]></Item><Item>b</Item></Extra>\n\t<AgentID>1000002</AgentID>\n",
    )
    event = parse_event(xml)
    assert isinstance(event, UnknownEvent)
    assert (event.event, event.to_user_name, event.create_time) == (
        "modify_meeting_room",
        "toUser",
        1348831860,
    )
    assert event.xml == xml
    assert event.fields[-3:] == (("Extra/Item", "a"), ("Extra/Item", "b"), ("AgentID", "1000002"))
    assert event.get("CalId") == CAL
    assert event.get("Nope") is None


@pytest.mark.parametrize(
    "xml",
    [
        doc_xml("modify_schedule", schedule=False),  # a known event without its ScheduleId
        doc_xml("modify_schedule").replace(b"1348831860", b"soon"),  # CreateTime not a number
        doc_xml("modify_schedule").replace(b"[event]", b"[text]"),  # not an event message
        b"<xml><Event>delete_calendar</Event></xml>",  # nearly nothing
    ],
)
def test_known_but_incomplete_is_unknown_not_lost(xml: bytes) -> None:
    event = parse_event(xml)
    assert isinstance(event, UnknownEvent)
    assert event.xml == xml


def test_dedup_key() -> None:
    a = parse_event(doc_xml("modify_schedule"))
    assert parse_event(doc_xml("modify_schedule")).dedup_key == a.dedup_key
    assert len(a.dedup_key) == 16
    others = [
        parse_event(doc_xml("delete_schedule")),
        parse_event(doc_xml("modify_schedule").replace(b"1348831860", b"1348831861")),
        parse_event(doc_xml("modify_schedule").replace(SCHED.encode(), b"other")),
        parse_event(doc_xml("modify_calendar", schedule=False)),
    ]
    assert len({a.dedup_key, *(o.dedup_key for o in others)}) == 5
    unknown = parse_event(doc_xml("x_new", extra="<N>1</N>"))
    assert unknown.dedup_key == parse_event(doc_xml("x_new", extra="<N>1</N>")).dedup_key
    assert unknown.dedup_key != parse_event(doc_xml("x_new", extra="<N>2</N>")).dedup_key


# --- hostile XML -----------------------------------------------------------------------------

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'.encode()
        for i in range(1, 10)
    )
    + b"]>\n<xml><Event>&lol9;</Event></xml>"
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<xml><Event>&xxe;</Event></xml>"
)
EXTERNAL_DTD = b'<!DOCTYPE xml SYSTEM "http://127.0.0.1:1/evil.dtd"><xml><Event>x</Event></xml>'
PARAMETER_ENTITY = (
    b'<!DOCTYPE xml [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><xml><Event>x</Event></xml>'
)
QUADRATIC = (
    b'<!DOCTYPE xml [<!ENTITY a "'
    + b"x" * 20_000
    + b'">]><xml><Event>'
    + b"&a;" * 10_000
    + b"</Event></xml>"
)


@pytest.mark.parametrize(
    ("xml", "match"),
    [
        (BILLION_LAUGHS, "DTD"),
        (EXTERNAL_ENTITY, "DTD"),
        (EXTERNAL_DTD, "DTD"),
        (PARAMETER_ENTITY, "DTD"),
        (QUADRATIC, "DTD"),
        (QUADRATIC[:200] + b'">]><xml/>', "DTD"),
        (b"<xml><Event>&undefined;</Event></xml>", "well-formed"),
        (b"<xml>" + b"<a>" * 17 + b"</a>" * 17 + b"</xml>", "deeper"),
        (b"<xml>" + b"<a>" * 100_000, "over the"),
        (b"<xml><Event>" + b"x" * 70_000 + b"</Event></xml>", "over the"),
        (b"not xml at all", "well-formed"),
        (b"", "well-formed"),
        (b"<xml><Event>x</Event>", "well-formed"),
        (b"<xml/><xml/>", "well-formed"),
        ("<xml><Event>é</Event></xml>".encode("latin-1"), "well-formed"),
        (b'<?xml version="1.0" encoding="GBK"?><xml><Event>x</Event></xml>', "encoding"),
        (b'<?xml version="1.0" encoding="no-such"?><xml><Event>x</Event></xml>', "encoding"),
    ],
    ids=[
        "billion-laughs",
        "external-entity",
        "external-dtd",
        "parameter-entity",
        "quadratic-blowup",
        "small-dtd",
        "undefined-entity",
        "deep",
        "deep-and-huge",
        "huge",
        "not-xml",
        "empty",
        "unclosed",
        "two-roots",
        "bad-utf8",
        "multi-byte-encoding",
        "unknown-encoding",
    ],
)
def test_hostile_xml_refused(xml: bytes, match: str) -> None:
    started = time.perf_counter()
    with pytest.raises(CallbackPayloadError, match=match) as info:
        parse_event(xml)
    assert isinstance(info.value, CallbackVerificationError)
    # refused at once, not after expanding anything (a generous bound only a real bug exceeds)
    assert time.perf_counter() - started < 5


def test_predefined_entities_and_character_references_are_fine() -> None:
    cdata = f"<![CDATA[{SCHED}]]>".encode()
    event = parse_event(doc_xml("modify_schedule").replace(cdata, b"a&amp;b&#x65E5;&lt;"))
    assert isinstance(event, ScheduleModified)
    assert event.schedule_id == "a&b日<"
    # deep but within the limit
    nested = doc_xml("x", extra="<a>" * 14 + "deep" + "</a>" * 14)
    unknown = parse_event(nested)
    assert isinstance(unknown, UnknownEvent)
    assert unknown.fields[-1] == ("/".join(["a"] * 14), "deep")
