"""Service providers (服务商) in the fake: suites, their tickets and tokens, authorised corps.

A suite (a third-party app, or a template of custom-developed apps, 代开发) is added with
``fake.add_suite``; corps install it with ``fake.authorize_corp``. The endpoints:

* ``service/get_suite_token`` (body ``suite_id``, ``suite_secret``, ``suite_ticket``) →
  ``suite_access_token``, ``expires_in``. Missing fields → 41021/41024/41023; unknown suite →
  40083; wrong secret → 40080; a ticket this suite was not given, or expired → 40085.
* ``service/get_permanent_code`` and ``service/v2/get_permanent_code``
  (``?suite_access_token=``, body ``auth_code``) → ``permanent_code``, ``auth_corp_info``,
  ``auth_info``, ``auth_user_info`` (v1 also ``access_token``/``expires_in``: the corp's token).
  A missing auth code → 41026; unknown, already used or expired → 40078.
* ``service/get_corp_token`` (``?suite_access_token=``, body ``auth_corpid``,
  ``permanent_code``) → the corp's ``access_token``, ``expires_in``. Missing fields →
  41002/41025; a permanent code that is not this suite's code for that corp, or whose
  authorisation was cancelled → 40084.

The suite access token is checked first on the last two: missing → 41022, unknown or
invalidated → 40082, expired → 42009 (global errcode list, doc 90313).

Assumptions (the docs are silent or the fake simplifies):

* A suite ticket is valid for 1800 s after it was issued (doc: "有效期为30分钟"), and a new one
  does not invalidate the older ones before that.
* ``get_suite_token`` behaves like ``gettoken``: while the suite's token is valid it answers that
  same token (whatever valid ticket is sent); tokens live ``token_ttl`` seconds.
* An auth code is single use and valid 600 s (doc: "临时授权码10分钟有效，只能使用一次").
* A third-party app's token and the corp's own app's token are different tokens; both reach the
  same corp data (the fake models the calendars of a corp, not which app owns which beyond
  ``other_app``). A corp authorised to a suite that is not one of the fake's ``corps`` has no
  own app (``gettoken`` does not know it), except through a custom-developed app: a suite added
  with ``custom_app=True`` makes ``gettoken(corpid=auth corp, corpsecret=permanent code)`` answer
  that app's token (doc: 代开发应用 use the permanent code as the secret).
* ``cancel_auth`` invalidates the corp's token of that suite at once (its next use answers
  40014) and the permanent code (40084).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._clock import Clock
from ._errors import FakeAPIError
from ._log import RequestRecord
from ._store import JSONObject, Store
from ._tokens import TokenRegistry

__all__ = [
    "SERVICE_PATHS",
    "FakeAuthorization",
    "FakeProviders",
    "FakeSuite",
    "SuiteMessage",
]

GET_SUITE_TOKEN = "service/get_suite_token"
GET_CORP_TOKEN = "service/get_corp_token"
GET_PERMANENT_CODE = "service/get_permanent_code"
GET_PERMANENT_CODE_V2 = "service/v2/get_permanent_code"
#: The provider endpoints (they take no ``access_token``).
SERVICE_PATHS = frozenset(
    {GET_SUITE_TOKEN, GET_CORP_TOKEN, GET_PERMANENT_CODE, GET_PERMANENT_CODE_V2}
)

SUITE_TICKET_TTL = 1800
AUTH_CODE_TTL = 600
#: Body fields of the provider endpoints that the request log never keeps.
_SECRET_FIELDS = frozenset({"suite_secret", "suite_ticket", "permanent_code", "auth_code"})
_HIDDEN = "<hidden>"
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(eq=False, repr=False)
class FakeAuthorization:
    """One corp's installation of a suite. ``repr()`` shows no code."""

    suite_id: str
    corp_id: str
    permanent_code: str
    auth_code: str
    auth_code_expires_at: float
    state: str = ""
    agentid: int = 1000001
    auth_code_used: bool = False
    cancelled: bool = False

    def __repr__(self) -> str:
        status = "cancelled" if self.cancelled else "active"
        return f"<FakeAuthorization suite={self.suite_id} corp={self.corp_id} {status}>"


@dataclass(eq=False, repr=False)
class FakeSuite:
    """A service provider's suite: the values of its provider-console page, its tickets and the
    corps that installed it. ``repr()`` shows no secret."""

    suite_id: str
    suite_secret: str
    #: "Token" and "EncodingAESKey" of the suite's command callback (receive ID = suite ID).
    token: str
    encoding_aes_key: str
    #: A template of custom-developed apps (代开发): ``gettoken`` accepts its permanent codes.
    custom_app: bool = False
    #: ticket → expiry (clock time).
    tickets: dict[str, float] = field(default_factory=dict)
    #: corp ID → its latest authorisation.
    authorizations: dict[str, FakeAuthorization] = field(default_factory=dict)

    @property
    def latest_ticket(self) -> str | None:
        """The ticket issued last (None before the first one)."""
        return next(reversed(self.tickets), None)

    def __repr__(self) -> str:
        kind = " custom_app" if self.custom_app else ""
        return f"<FakeSuite {self.suite_id}{kind} corps={len(self.authorizations)}>"


@dataclass(frozen=True, repr=False)
class SuiteMessage:
    """A message of the provider command callback (``InfoType``), as the fake sends it.

    *fields* are the XML elements after ``SuiteId``/``InfoType``/``TimeStamp``, in order.
    ``repr()`` hides ``SuiteTicket`` and ``AuthCode``.
    """

    info_type: str
    suite_id: str
    create_time: int
    fields: tuple[tuple[str, str], ...] = ()

    def to_xml(self) -> bytes:
        from ..callbacks._xml import cdata

        parts = [
            f"<SuiteId>{cdata(self.suite_id)}</SuiteId>",
            f"<InfoType>{cdata(self.info_type)}</InfoType>",
            f"<TimeStamp>{self.create_time}</TimeStamp>",
        ]
        parts += [f"<{name}>{cdata(value)}</{name}>" for name, value in self.fields]
        return ("<xml>" + "".join(parts) + "</xml>").encode("utf-8")

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={_HIDDEN if name in ('SuiteTicket', 'AuthCode') else value!r}"
            for name, value in self.fields
        )
        return f"SuiteMessage({self.info_type!r}, suite={self.suite_id}, {shown})"


def _random_key() -> str:
    return "".join(secrets.choice(_B64) for _ in range(43))


class FakeProviders:
    """The suites of a :class:`~wecom_async.testing.FakeWeCom` and the ``service/…`` endpoints."""

    def __init__(self, store: Store, corp_tokens: TokenRegistry, clock: Clock) -> None:
        self._store = store
        self._corp_tokens = corp_tokens
        self._clock = clock
        self.suites: dict[str, FakeSuite] = {}
        self.suite_tokens = TokenRegistry(
            ttl=corp_tokens.ttl, clock=clock, codes=(41022, 40082, 42009)
        )

    # --- registry ---------------------------------------------------------------------------

    def add_suite(
        self,
        suite_id: str | None,
        suite_secret: str | None,
        *,
        token: str | None,
        encoding_aes_key: str | None,
        custom_app: bool,
    ) -> FakeSuite:
        if suite_id is None:
            suite_id = f"wwsuite{secrets.token_hex(6)}"
        if suite_id in self.suites:
            raise ValueError(f"suite {suite_id!r} already exists")
        suite = FakeSuite(
            suite_id,
            suite_secret if suite_secret is not None else secrets.token_urlsafe(32),
            token if token is not None else secrets.token_hex(8),
            encoding_aes_key if encoding_aes_key is not None else _random_key(),
            custom_app=custom_app,
        )
        self.suites[suite_id] = suite
        return suite

    def suite(self, suite_id: str) -> FakeSuite:
        try:
            return self.suites[suite_id]
        except KeyError:
            raise KeyError(f"no suite {suite_id!r} in the fake") from None

    def new_ticket(self, suite_id: str) -> str:
        suite = self.suite(suite_id)
        ticket = secrets.token_urlsafe(32)
        suite.tickets[ticket] = self._clock() + SUITE_TICKET_TTL
        return ticket

    def authorize(self, suite_id: str, corp_id: str | None, state: str) -> FakeAuthorization:
        suite = self.suite(suite_id)
        if corp_id is None:
            corp_id = self._store.new_corp_id()
        current = suite.authorizations.get(corp_id)
        if current is not None and not current.cancelled:
            raise ValueError(f"corp {corp_id!r} has already authorised suite {suite_id!r}")
        self._store.add_corp(corp_id)
        auth = FakeAuthorization(
            suite_id,
            corp_id,
            permanent_code=secrets.token_urlsafe(32),
            auth_code=secrets.token_urlsafe(32),
            auth_code_expires_at=self._clock() + AUTH_CODE_TTL,
            state=state,
        )
        suite.authorizations[corp_id] = auth
        return auth

    def authorization(self, suite_id: str, corp_id: str) -> FakeAuthorization:
        try:
            return self.suite(suite_id).authorizations[corp_id]
        except KeyError:
            raise KeyError(f"corp {corp_id!r} never authorised suite {suite_id!r}") from None

    def cancel(self, suite_id: str, corp_id: str) -> None:
        auth = self.authorization(suite_id, corp_id)
        auth.cancelled = True
        self._corp_tokens.invalidate(corp_id, suite_id)

    def custom_app_of(self, corp_id: str, secret: str) -> str | None:
        """The custom-developed app (suite ID) whose permanent code for *corp_id* is *secret*."""
        for suite in self.suites.values():
            auth = suite.authorizations.get(corp_id)
            if (
                suite.custom_app
                and auth is not None
                and not auth.cancelled
                and secrets.compare_digest(auth.permanent_code, secret)
            ):
                return suite.suite_id
        return None

    def is_third_party(self, app: str) -> bool:
        """Whether tokens of *app* (``""`` = the corp's own app) are a third-party app's."""
        suite = self.suites.get(app)
        return suite is not None and not suite.custom_app

    # --- endpoints ----------------------------------------------------------------------------

    def note(
        self, record: RequestRecord, query: Mapping[str, str], body: JSONObject | None
    ) -> None:
        """Fill the request log entry of a ``service/…`` call (without its secrets)."""
        if body is not None:
            record.body = {k: _HIDDEN if k in _SECRET_FIELDS else v for k, v in body.items()}
        if record.path == GET_SUITE_TOKEN:
            suite_id = body.get("suite_id") if body is not None else None
            record.suite_id = suite_id if isinstance(suite_id, str) else None
            return
        record.suite_id = self.suite_tokens.peek_corp(query.get("suite_access_token"))
        if record.path == GET_CORP_TOKEN and body is not None:
            corp_id = body.get("auth_corpid")
            if isinstance(corp_id, str) and corp_id in self._store.corp_ids:
                record.corp_id = corp_id

    def handle(
        self, record: RequestRecord, query: Mapping[str, str], body: JSONObject
    ) -> JSONObject:
        """Answer a ``service/…`` call (``FakeAPIError`` for an errcode)."""
        if record.path == GET_SUITE_TOKEN:
            return self._get_suite_token(body)
        suite_id, _ = self.suite_tokens.resolve_app(query.get("suite_access_token"))
        suite = self.suites[suite_id]
        if record.path == GET_CORP_TOKEN:
            return self._get_corp_token(suite, body)
        return self._get_permanent_code(suite, body, record)

    def _get_suite_token(self, body: JSONObject) -> JSONObject:
        suite_id = _text(body, "suite_id", 41021)
        suite = self.suites.get(suite_id)
        if suite is None:
            raise FakeAPIError(40083)
        if not secrets.compare_digest(_text(body, "suite_secret", 41024), suite.suite_secret):
            raise FakeAPIError(40080)
        ticket = _text(body, "suite_ticket", 41023)
        expires_at = suite.tickets.get(ticket)
        if expires_at is None or self._clock() >= expires_at:
            raise FakeAPIError(40085)
        token, expires_in = self.suite_tokens.issue(suite_id)
        return {"suite_access_token": token, "expires_in": expires_in}

    def _get_corp_token(self, suite: FakeSuite, body: JSONObject) -> JSONObject:
        corp_id = _text(body, "auth_corpid", 41002)
        code = _text(body, "permanent_code", 41025)
        auth = suite.authorizations.get(corp_id)
        if auth is None or auth.cancelled or not secrets.compare_digest(auth.permanent_code, code):
            raise FakeAPIError(40084)
        token, expires_in = self._corp_tokens.issue(corp_id, suite.suite_id)
        return {"access_token": token, "expires_in": expires_in}

    def _get_permanent_code(
        self, suite: FakeSuite, body: JSONObject, record: RequestRecord
    ) -> JSONObject:
        code = _text(body, "auth_code", 41026)
        auth = next(
            (a for a in suite.authorizations.values() if secrets.compare_digest(a.auth_code, code)),
            None,
        )
        if (
            auth is None
            or auth.auth_code_used
            or auth.cancelled
            or self._clock() >= auth.auth_code_expires_at
        ):
            raise FakeAPIError(40078)
        auth.auth_code_used = True
        record.corp_id = auth.corp_id
        answer: JSONObject = {}
        if record.path == GET_PERMANENT_CODE:
            token, expires_in = self._corp_tokens.issue(auth.corp_id, suite.suite_id)
            answer = {"access_token": token, "expires_in": expires_in}
        answer.update(
            {
                "permanent_code": auth.permanent_code,
                "auth_corp_info": {"corpid": auth.corp_id, "corp_name": f"Corp {auth.corp_id}"},
                "auth_info": {"agent": [{"agentid": auth.agentid, "name": "Fake suite app"}]},
                "auth_user_info": {"userid": "admin"},
            }
        )
        return answer


def _text(body: Mapping[str, Any], key: str, missing: int) -> str:
    """``body[key]`` as a non-empty str; *missing* errcode when absent, empty or not a str."""
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise FakeAPIError(missing)
    return value
