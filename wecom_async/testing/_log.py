"""The request log: one :class:`RequestRecord` per HTTP request the fake received."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["RequestRecord"]


@dataclass(slots=True)
class RequestRecord:
    """One request, appended to ``fake.requests`` when it arrives and completed when answered.

    Never holds the access token, the corp secret or the query string, nor the secrets of the
    provider endpoints (``service/…``: their ``body`` has ``suite_secret``, ``suite_ticket``,
    ``permanent_code`` and ``auth_code`` replaced by ``"<hidden>"``).

    * ``method``: HTTP method. ``path``: API path without ``/cgi-bin/`` (``"gettoken"``,
      ``"oa/schedule/add"``).
    * ``corp_id``: the corp the call was made for: the ``corpid`` parameter of ``gettoken`` (when
      it is a corp of the fake), else the corp the access token was issued to (also when the
      token has expired or was invalidated), the ``auth_corpid`` of ``service/get_corp_token``,
      the authorising corp of ``service/get_permanent_code``; ``None`` when unknown.
    * ``suite_id``: the service provider's suite of a ``service/…`` call (from the body or the
      ``suite_access_token``), or of an API call made with a third-party app's token; ``None``
      otherwise.
    * ``body``: the parsed JSON body (``None`` for ``gettoken``, a body that is not a JSON object,
      or when the fake runs with ``record_bodies=False``).
    * ``time``: arrival time by the fake's clock.
    * ``errcode``: the errcode answered (or computed, for ``drop(after=True)``); ``None`` while in
      flight and for answers without JSON (HTTP error page, dropped before handling, 404).
    * ``http_status``: the HTTP status answered; ``None`` while in flight or when dropped.
    * ``dropped``: the connection was closed without an answer.
    * ``client_gone``: the client closed the connection before the request was read whole
      (nothing was answered).
    * ``faults``: labels of the injected faults that hit this call (see ``Faults.fired``).
    """

    method: str
    path: str
    corp_id: str | None
    time: float
    body: dict[str, Any] | None = None
    errcode: int | None = None
    http_status: int | None = None
    dropped: bool = False
    faults: tuple[str, ...] = ()
    client_gone: bool = False
    suite_id: str | None = None

    @property
    def done(self) -> bool:
        """Whether the call was answered (or dropped, or its client went away)."""
        return self.dropped or self.client_gone or self.http_status is not None
