"""Access tokens: issue, check, expire (by the injected clock) and invalidate.

Like the real API, one corp (app) has one valid token at a time: ``gettoken`` while it is valid
answers the same token with ``expires_in`` = the whole seconds left; once it expired or was
invalidated, ``gettoken`` issues a new one. A token is ~128 URL-safe random characters.

Assumptions: an invalidated token answers 40014 (even if it has also expired); an expired one
answers 42001 (its expiry is reached when ``now >= issued_at + ttl``); a token the fake never
issued answers 40014. Changing ``ttl`` affects tokens issued afterwards.

A corp can have several apps: its own (``app=""``, tokens from ``gettoken``) and service
providers' apps (``app`` = the suite ID, tokens from ``service/get_corp_token``); each app has
its own token. The same registry class issues suite access tokens (keyed by suite ID, with the
suite errcodes 41022/40082/42009 given as *codes*).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from ._clock import Clock
from ._errors import FakeAPIError

__all__ = ["TokenRegistry"]


@dataclass(slots=True)
class _Token:
    corp_id: str
    app: str
    expires_at: float
    invalidated: bool = False


class TokenRegistry:
    def __init__(
        self, *, ttl: int, clock: Clock, codes: tuple[int, int, int] = (41001, 40014, 42001)
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        #: The errcodes of a missing, an unknown or invalidated, an expired token.
        self._missing, self._invalid, self._expired = codes
        self._tokens: dict[str, _Token] = {}
        self._current: dict[tuple[str, str], str] = {}
        #: How many distinct tokens were issued.
        self.issued = 0

    def issue(self, corp_id: str, app: str = "") -> tuple[str, int]:
        """The valid token of *app* in *corp_id* (a new one if needed) and its ``expires_in``."""
        now = self._clock()
        current = self._current.get((corp_id, app))
        if current is not None:
            info = self._tokens[current]
            if not info.invalidated and now < info.expires_at:
                return current, int(info.expires_at - now)
        token = secrets.token_urlsafe(96)
        self._tokens[token] = _Token(corp_id, app, now + self.ttl)
        self._current[corp_id, app] = token
        self.issued += 1
        return token, self.ttl

    def peek_corp(self, token: str | None) -> str | None:
        """The corp *token* was issued to (valid or not), or None."""
        info = self._tokens.get(token) if token else None
        return None if info is None else info.corp_id

    def peek_app(self, token: str | None) -> str:
        """The app *token* was issued to (valid or not), ``""`` if none or unknown."""
        info = self._tokens.get(token) if token else None
        return "" if info is None else info.app

    def resolve(self, token: str | None) -> str:
        """The corp of a valid *token*; raise 41001/40014/42001 otherwise."""
        return self.resolve_app(token)[0]

    def resolve_app(self, token: str | None) -> tuple[str, str]:
        """The corp and app of a valid *token*; raise 41001/40014/42001 otherwise."""
        if not token:
            raise FakeAPIError(self._missing)
        info = self._tokens.get(token)
        if info is None or info.invalidated:
            raise FakeAPIError(self._invalid)
        if self._clock() >= info.expires_at:
            raise FakeAPIError(self._expired)
        return info.corp_id, info.app

    def invalidate(self, corp_id: str | None = None, app: str | None = None) -> int:
        """Invalidate the current token of *corp_id* (every corp if None) for *app* (every app
        if None); return how many."""
        count = 0
        for (corp, token_app), token in list(self._current.items()):
            if corp_id in (None, corp) and app in (None, token_app):
                info = self._tokens[token]
                if not info.invalidated:
                    info.invalidated = True
                    count += 1
                del self._current[corp, token_app]
        return count
