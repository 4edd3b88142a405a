"""Typed messages of a service provider's command callback (suite ticket, authorisations).

WeCom POSTs these to the suite's "command callback" URL, encrypted like every callback with the
suite's Token and EncodingAESKey and ``receive_id`` = the suite ID (doc 90628 and its pages)::

    <xml>
      <SuiteId><![CDATA[ww4asffe99e54c0fxxxx]]></SuiteId>
      <InfoType><![CDATA[suite_ticket]]></InfoType>
      <TimeStamp>1403610513</TimeStamp>
      <SuiteTicket><![CDATA[asdfasfdasdfasdf]]></SuiteTicket>
    </xml>

``create_auth`` carries ``AuthCode`` (and ``State``), ``change_auth`` and ``cancel_auth``
``AuthCorpId`` (``change_auth`` also ``State``). An InfoType we have no class for (or a known one
missing a field) becomes an :class:`UnknownSuiteEvent` keeping every field: nothing is dropped.

They are :class:`~wecom_async.callbacks.CallbackEvent` objects, so the receiver, dispatcher and
ASGI app of the callbacks module serve them unchanged: ``to_user_name`` is the suite ID,
``from_user_name`` is empty, ``create_time`` the ``TimeStamp`` and ``event`` the ``InfoType``.
Tickets, auth codes and unknown fields never show in ``repr``.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from ._events import CallbackEvent, _create_time
from ._xml import MAX_BODY_BYTES, cdata, parse_fields

__all__ = [
    "CancelAuth",
    "ChangeAuth",
    "CreateAuth",
    "SuiteEvent",
    "SuiteTicket",
    "UnknownSuiteEvent",
    "build_suite_event_xml",
    "parse_suite_event",
]


@attrs.frozen(kw_only=True)
class SuiteEvent(CallbackEvent):
    """Base class of the command callback's messages (``InfoType`` is :attr:`info_type`)."""

    from_user_name: str = ""

    @property
    def suite_id(self) -> str:
        return self.to_user_name

    @property
    def info_type(self) -> str:
        return self.event

    @property
    def timestamp(self) -> int:
        return self.create_time


@attrs.frozen(kw_only=True)
class SuiteTicket(SuiteEvent):
    """``suite_ticket``: WeCom's new suite ticket (pushed every 10 minutes)."""

    EVENT: ClassVar[str] = "suite_ticket"

    suite_ticket: str = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class CreateAuth(SuiteEvent):
    """``create_auth``: a corp installed the app; ``auth_code`` (one use, valid 10 minutes) is
    exchanged for the corp's permanent code (``SuiteProvider.get_permanent_code``)."""

    EVENT: ClassVar[str] = "create_auth"

    auth_code: str = attrs.field(repr=False)
    state: str = ""


@attrs.frozen(kw_only=True)
class ChangeAuth(SuiteEvent):
    """``change_auth``: corp ``auth_corp_id`` changed the app's authorisation (scope, agents)."""

    EVENT: ClassVar[str] = "change_auth"

    auth_corp_id: str
    state: str = ""


@attrs.frozen(kw_only=True)
class CancelAuth(SuiteEvent):
    """``cancel_auth``: corp ``auth_corp_id`` uninstalled the app; its permanent code is dead."""

    EVENT: ClassVar[str] = "cancel_auth"

    auth_corp_id: str


@attrs.frozen(kw_only=True)
class UnknownSuiteEvent(SuiteEvent):
    """A message we have no class for (or a known one missing a field): nothing is dropped.

    ``fields`` holds every leaf element as ``(path, text)`` and ``xml`` the decrypted XML; neither
    shows in ``repr`` (they may carry codes or tickets).
    """

    fields: tuple[tuple[str, str], ...] = attrs.field(repr=False)
    xml: bytes = attrs.field(repr=False)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The text of the first field called ``name`` (a path for nested ones)."""
        return next((text for path, text in self.fields if path == name), default)


def parse_suite_event(xml: bytes) -> SuiteEvent:
    """The typed message in a decrypted command callback.

    Raises :class:`~wecom_async.errors.CallbackPayloadError` for XML that is not acceptable (see
    :func:`~wecom_async.callbacks.parse_event`); any well-formed message parses.
    """
    fields = parse_fields(xml, max_bytes=MAX_BODY_BYTES)
    first: dict[str, str] = {}
    for path, text in fields:
        first.setdefault(path, text)
    suite_id = first.get("SuiteId")
    info_type = first.get("InfoType", "")
    timestamp = _create_time(first.get("TimeStamp"))
    if suite_id is not None and timestamp is not None:
        if info_type == SuiteTicket.EVENT and "SuiteTicket" in first:
            return SuiteTicket(
                to_user_name=suite_id,
                create_time=timestamp,
                event=info_type,
                suite_ticket=first["SuiteTicket"],
            )
        if info_type == CreateAuth.EVENT and "AuthCode" in first:
            return CreateAuth(
                to_user_name=suite_id,
                create_time=timestamp,
                event=info_type,
                auth_code=first["AuthCode"],
                state=first.get("State", ""),
            )
        if info_type == ChangeAuth.EVENT and "AuthCorpId" in first:
            return ChangeAuth(
                to_user_name=suite_id,
                create_time=timestamp,
                event=info_type,
                auth_corp_id=first["AuthCorpId"],
                state=first.get("State", ""),
            )
        if info_type == CancelAuth.EVENT and "AuthCorpId" in first:
            return CancelAuth(
                to_user_name=suite_id,
                create_time=timestamp,
                event=info_type,
                auth_corp_id=first["AuthCorpId"],
            )
    return UnknownSuiteEvent(
        to_user_name=suite_id or "",
        create_time=timestamp or 0,
        event=info_type,
        fields=fields,
        xml=xml,
    )


def build_suite_event_xml(event: SuiteEvent) -> bytes:
    """The decrypted XML WeCom sends for ``event`` (for fake servers and tests).

    ``parse_suite_event(build_suite_event_xml(e)) == e`` for every typed message; an
    :class:`UnknownSuiteEvent` gives back its ``xml``.
    """
    if isinstance(event, UnknownSuiteEvent):
        return event.xml
    parts = [
        f"<SuiteId>{cdata(event.suite_id)}</SuiteId>",
        f"<InfoType>{cdata(event.info_type)}</InfoType>",
        f"<TimeStamp>{event.timestamp}</TimeStamp>",
    ]
    if isinstance(event, SuiteTicket):
        parts.append(f"<SuiteTicket>{cdata(event.suite_ticket)}</SuiteTicket>")
    elif isinstance(event, CreateAuth):
        parts.append(f"<AuthCode>{cdata(event.auth_code)}</AuthCode>")
        parts.append(f"<State>{cdata(event.state)}</State>")
    elif isinstance(event, ChangeAuth):
        parts.append(f"<AuthCorpId>{cdata(event.auth_corp_id)}</AuthCorpId>")
        parts.append(f"<State>{cdata(event.state)}</State>")
    elif isinstance(event, CancelAuth):
        parts.append(f"<AuthCorpId>{cdata(event.auth_corp_id)}</AuthCorpId>")
    return ("<xml>" + "".join(parts) + "</xml>").encode("utf-8")
