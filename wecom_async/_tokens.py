"""Access tokens: cached, refreshed once for everyone, invalidated precisely.

WeCom gives each app (corp ID + secret) one access token at a time, valid ``expires_in`` seconds
(normally 7200), and may revoke it early (40014/42001). gettoken itself is rate-limited and
repeated failures block the caller's IP for an hour, so:

* a valid token is served from memory without awaiting anything (the hot path);
* a missing or expiring token is fetched by exactly one task while the others wait for it
  (single-flight), each for no longer than its own timeout;
* a token is refreshed once, ``refresh_margin`` seconds before it expires. While a token is valid
  WeCom answers gettoken with that same token and the seconds it has left (rounded down: 0 in its
  last second), so a token answered with ``refresh_margin`` seconds or less left is used to its
  end, at most ``expires_in + 1`` seconds: a refresh before then would only get it again. A call
  sent in its last moments that WeCom answers 42001 is resent with a new token (see the client).
  One rollover thus costs at most two gettoken calls and fails no call;
* :meth:`TokenManager.invalidate` drops a token only if it is still the current one, so a burst of
  calls all answered 40014 with the same old token causes a single new fetch;
* tokens live in a :class:`TokenStore`: in memory by default; a store shared across processes can
  implement the same protocol.

Times are seconds from the injected ``clock`` (``time.time`` by default: wall-clock time, so a
shared store's expiry means the same thing in every process).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import attrs

from ._logfields import fields
from ._retry import RetryPolicy
from .errors import (
    APIConnectionError,
    APITimeoutError,
    FrequencyLimitError,
    HTTPStatusError,
    InvalidCredentialsError,
    ResponseDecodeError,
    WeComAPIError,
)

logger = logging.getLogger("wecom_async")

__all__ = ["AccessToken", "MemoryTokenStore", "TokenManager", "TokenStore", "token_key"]


@attrs.frozen(slots=True)
class AccessToken:
    """A token and the clock time at which it expires. Its value never shows in ``repr``."""

    value: str = attrs.field(repr=False)
    expires_at: float


class TokenStore(Protocol):
    """Where tokens are kept. Keys never contain the secret (see :func:`token_key`).

    A store shared by processes may also offer ``refresh_lock(key)``, an async context manager
    held while a token is fetched (then one process calls gettoken and the others re-read).
    """

    async def get(self, key: str) -> AccessToken | None:
        """The stored token, or None."""

    async def set(self, key: str, token: AccessToken) -> None:
        """Store a token, replacing any other."""

    async def invalidate(self, key: str, value: str) -> None:
        """Forget the token if it still has this value (a newer one is kept)."""


class MemoryTokenStore:
    """The default :class:`TokenStore`: a dict in this process."""

    def __init__(self) -> None:
        self._tokens: dict[str, AccessToken] = {}

    def __repr__(self) -> str:
        return f"MemoryTokenStore({len(self._tokens)} tokens)"

    async def get(self, key: str) -> AccessToken | None:
        return self._tokens.get(key)

    async def set(self, key: str, token: AccessToken) -> None:
        self._tokens[key] = token

    async def invalidate(self, key: str, value: str) -> None:
        current = self._tokens.get(key)
        if current is not None and current.value == value:
            del self._tokens[key]


def token_key(corp_id: str, corp_secret: str) -> str:
    """The store key of an app's token: the corp ID and a digest of the secret, never the secret."""
    digest = hashlib.sha256(corp_secret.encode("utf-8")).hexdigest()[:16]
    return f"wecom:token:{corp_id}:{digest}"


#: Fetches a fresh token: returns (access_token, expires_in seconds). Called with the seconds the
#: request may take (the longest timeout of the calls waiting for it), or None for its default.
Fetcher = Callable[[float | None], Awaitable[tuple[str, int]]]

#: The longest lifetime we believe: WeCom's tokens live 7200 s (doc 91039). A larger
#: ``expires_in`` is clamped to it; a wrong one then costs an early refresh, never an error.
MAX_TOKEN_LIFETIME = 7200

#: ``expires_in`` counts whole seconds, rounded down: a token may live up to this much longer.
#: (Assumed: doc 91039 does not say. The fake server rounds down too.)
_ROUNDING = 1.0


class TokenManager:
    """The token of one app, fetched with ``fetch`` and kept in ``store``."""

    def __init__(
        self,
        *,
        key: str,
        fetch: Fetcher,
        store: TokenStore,
        clock: Callable[[], float] = time.time,
        refresh_margin: float = 300.0,
        credential_error_ttl: float = 60.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        api: str | None = None,
        corp_id: str | None = None,
    ) -> None:
        self._key = key
        #: The API path of the fetch and the corp, for the ``extra`` of log records.
        self._api = api
        self._corp_id = corp_id
        self._retry = retry if retry is not None else RetryPolicy()
        self._sleep = sleep
        self._fetch = fetch
        self._store = store
        self._clock = clock
        self._margin = refresh_margin
        self._credential_error_ttl = credential_error_ttl
        self._current: AccessToken | None = None
        self._revoked = ""
        self._inflight: asyncio.Future[str] | None = None
        #: The timeout of the next gettoken attempt: the most patient waiter's (None: no bound).
        self._fetch_timeout: float | None = None
        self._credential_error: tuple[float, InvalidCredentialsError] | None = None
        #: How many times this manager called gettoken.
        self.fetches = 0

    def __repr__(self) -> str:
        return f"TokenManager(key={self._key!r}, cached={self._current is not None})"

    def _fresh(self, token: AccessToken | None) -> str | None:
        if token is not None and self._clock() < token.expires_at:
            return token.value
        return None

    def cached(self) -> str:
        """The current token if it is fresh, else ``""`` (no I/O: then await :meth:`get`)."""
        current = self._current
        if current is not None and self._clock() < current.expires_at:
            return current.value
        return ""

    async def get(self, timeout: float | None = None) -> str:
        """The current token, fetching one if needed: one fetch however many tasks ask.

        Every task waiting on a fetch gets its result or its error. Transient gettoken failures
        (-1, 5xx, connection errors, 45009) are retried here, by the ``retry`` policy, once for
        all the waiters. A wrong secret (40001, 40091) is remembered for
        ``credential_error_ttl`` seconds and raised again without calling gettoken: repeated
        gettoken failures get the caller's IP blocked for an hour.

        ``timeout`` (seconds) bounds this caller's wait: past it, :class:`APITimeoutError` is
        raised, while a fetch that others share goes on for them. A gettoken attempt takes at
        most the timeout of the most patient caller waiting when it starts, so a retry of a fetch
        that an impatient caller started is not cut short for a patient one.
        """
        value = self._fresh(self._current)
        if value is not None:
            return value
        failed = self._credential_error
        if failed is not None and self._clock() < failed[0]:
            error = failed[1]
            # A fresh exception each time: re-raising one object would grow its traceback.
            raise type(error)(error.errcode, error.errmsg, path=error.path)
        inflight = self._inflight
        if inflight is None:
            self._fetch_timeout = timeout
            inflight = self._inflight = asyncio.ensure_future(self._refresh())
            inflight.add_done_callback(self._clear_inflight)
        elif self._fetch_timeout is not None and (timeout is None or timeout > self._fetch_timeout):
            self._fetch_timeout = timeout
        # shield: a caller that is cancelled (or times out) must not cancel the fetch the others
        # wait for.
        if timeout is None:
            return await asyncio.shield(inflight)
        try:
            return await asyncio.wait_for(asyncio.shield(inflight), timeout)
        except asyncio.TimeoutError as exc:
            raise APITimeoutError(
                f"no access token within the {timeout:g} s timeout",
                path="gettoken",
                request_sent=True,
            ) from exc

    def _clear_inflight(self, future: asyncio.Future[str]) -> None:
        self._inflight = None
        if not future.cancelled():
            # Retrieve the error so that asyncio does not log it as never retrieved.
            future.exception()

    async def _refresh(self) -> str:
        # A store shared by processes may offer a lock, so that one of them calls gettoken
        # while the others wait, then read the token it stored.
        refresh_lock: Callable[[str], AbstractAsyncContextManager[None]] | None = getattr(
            self._store, "refresh_lock", None
        )
        if refresh_lock is None:
            return await self._refresh_from_store()
        async with refresh_lock(self._key):
            return await self._refresh_from_store()

    async def _refresh_from_store(self) -> str:
        stored = await self._store.get(self._key)
        value = self._fresh(stored)
        if value is not None and value != self._revoked:
            self._current = stored
            return value
        value, expires_in = await self._fetch_with_retries()
        self._credential_error = None
        token = AccessToken(value, self._clock() + self._lifetime(expires_in))
        await self._store.set(self._key, token)
        self._current = token
        return value

    def _lifetime(self, expires_in: object) -> float:
        """Seconds to use a token answered with ``expires_in`` before fetching again.

        A token with more than ``refresh_margin`` seconds left is refreshed that much early. One
        with less (WeCom answers the current token with the seconds it has left, so this is what
        the early refresh gets) is used to its end: ``expires_in`` rounded down, so up to one
        second more. A margin under a second cannot be honoured against that rounding: such a
        token is used to its end too.
        """
        if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in < 0:
            # Not WeCom's answer: say so rather than guess (a negative lifetime, a string…).
            raise ResponseDecodeError(
                f"gettoken answered an invalid expires_in: {repr(expires_in)[:40]}",
                path="gettoken",
            )
        seconds = min(expires_in, MAX_TOKEN_LIFETIME)
        if self._margin >= _ROUNDING and seconds > self._margin:
            return seconds - self._margin
        return seconds + _ROUNDING

    async def _fetch_with_retries(self) -> tuple[str, int]:
        retry_number = 0
        while True:
            try:
                return await self._fetch(self._fetch_timeout)
            except InvalidCredentialsError as exc:
                self._credential_error = (self._clock() + self._credential_error_ttl, exc)
                raise
            except (WeComAPIError, APIConnectionError, HTTPStatusError) as exc:
                delay = self._retry.delay_for(exc, retry_number, idempotent=True)
                if delay is None:
                    raise
                if isinstance(exc, FrequencyLimitError):
                    # gettoken has no limiter to cool down: wait out the block here.
                    delay = max(delay, self._retry.frequency_block_seconds)
                retry_number += 1
                logger.debug(
                    "retry %d of %s in %.2f s after %s",
                    retry_number,
                    self._api or "the token fetch",
                    delay,
                    exc,
                    extra=fields(
                        api=self._api,
                        errcode=getattr(exc, "errcode", None),
                        retry=retry_number,
                        corp_id=self._corp_id,
                    ),
                )
                await self._sleep(delay)
            finally:
                self.fetches += 1

    def forget_failure(self) -> None:
        """Forget a remembered credential error, so that the next :meth:`get` fetches again.

        For a credential that changed (a provider's new suite ticket replaces a stale one).
        """
        self._credential_error = None

    async def invalidate(self, value: str) -> None:
        """Forget ``value`` (WeCom rejected it) unless a newer token already replaced it.

        The value is remembered as revoked, so that a store that still returns it (a shared
        store, or one that answers slowly) cannot hand it out again.
        """
        self._revoked = value
        current = self._current
        if current is not None and current.value == value:
            self._current = None
        await self._store.invalidate(self._key, value)
