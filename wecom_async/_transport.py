"""The thin aiohttp adapter: a shared session pool, one send, and error mapping without secrets.

Bodies are sent as bytes and answers read as bytes, at most ``max_bytes`` of them after
decompression; decoding is the sans-I/O core's job. aiohttp puts the full URL, with
``?access_token=`` or ``?corpsecret=``, into some of its exception messages: every failure is
re-raised as a :class:`~wecom_async.APIConnectionError` whose message and cause have the secrets
scrubbed out.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncGenerator, Iterable
from types import TracebackType
from urllib.parse import quote

import aiohttp
from aiohttp import hdrs
from aiohttp.payload import BytesPayload
from yarl import URL

from ._constants import DEFAULT_CONNECTION_LIMIT, DEFAULT_MAX_RESPONSE_BYTES
from .errors import (
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    ResponseTooLargeError,
    WeComError,
)

__all__ = ["SessionPool", "send"]

_CLOSED_IN_FLIGHT = "the session was closed during the call; the request may have reached WeCom"


class SessionPool:
    """aiohttp ``ClientSession`` objects shared by any number of clients, one per event loop.

    A service that talks to many corps (one :class:`~wecom_async.WeComClient` per corp or app)
    passes the same pool to each client, so they share connections. The session is created
    lazily, inside the running event loop, on first use. Clients never close a pool they were
    given: its owner does, with ``await pool.close()`` or ``async with SessionPool() as pool``.

    An aiohttp session belongs to the loop it was created in, so a pool used from another loop
    (a second ``asyncio.run``, another thread) gets a session of that loop. Each session is
    closed inside its own loop when that loop shuts down (``asyncio.run`` and
    ``asyncio.Runner`` do so; by hand: ``await loop.shutdown_asyncgens()``), if the pool was
    not closed before: no "Event loop is closed", no unclosed-session warnings.

    ``limit`` is the connector's connection cap (keep it ≥ 64: the rate limiter, not the
    connector, should bound throughput); extra keyword arguments go to ``aiohttp.TCPConnector``.

    The session keeps no cookies (``aiohttp.DummyCookieJar``): WeCom's server API authenticates
    by the ``access_token`` in the URL and sets none, and a pool shared by several corps must
    not carry one corp's cookies into another's requests. (It also spares every call a cookie
    lookup.)
    """

    def __init__(
        self, *, limit: int = DEFAULT_CONNECTION_LIMIT, **connector_kwargs: object
    ) -> None:
        self._limit = limit
        self._connector_kwargs = connector_kwargs
        # The session of the loop that used the pool last (the fast path), and every loop's.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: aiohttp.ClientSession | None = None
        self._sessions: dict[asyncio.AbstractEventLoop, _LoopSession] = {}
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("open" if self._sessions else "not started")
        return f"SessionPool(limit={self._limit}, {state})"

    @property
    def closed(self) -> bool:
        return self._closed

    def session(self) -> aiohttp.ClientSession:
        """The running loop's session, created on first use (call from inside the loop)."""
        session = self._session
        if session is not None and self._loop is asyncio.get_running_loop() and not session.closed:
            return session  # (close() clears _session)
        if self._closed:
            raise ClientClosedError("this SessionPool is closed")
        return self._loop_session()

    def _loop_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        entry = self._sessions.get(loop)
        if entry is None or entry.session.closed:
            # Forget the loops that are gone; their sessions were closed as they shut down.
            for gone in [old for old in self._sessions if old.is_closed()]:
                del self._sessions[gone]
            connector = aiohttp.TCPConnector(limit=self._limit, **self._connector_kwargs)  # type: ignore[arg-type]
            entry = self._sessions[loop] = _LoopSession(
                aiohttp.ClientSession(
                    connector=connector,
                    cookie_jar=aiohttp.DummyCookieJar(),
                    raise_for_status=False,
                    auto_decompress=True,
                )
            )
        self._loop, self._session = loop, entry.session
        return entry.session

    async def close(self) -> None:
        """Close the sessions; the pool cannot be used afterwards.

        The running loop's session is closed now; a session of another loop that still runs
        is closed in that loop, soon after.
        """
        self._closed = True
        sessions, self._sessions = self._sessions, {}
        self._loop = self._session = None
        entry = sessions.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry.close()
        # The others are dropped: their loop closes them (see _LoopSession).

    async def __aenter__(self) -> SessionPool:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


#: The answers being read on each session a pool owns. aiohttp's close drops such an answer's
#: connection without waking its reader, which would then wait for its timeout: closing the
#: session wakes each with an error instead (the call then sees a closed session). Weak: a
#: session whose loop was closed without ``shutdown_asyncgens`` is never closed by us, and
#: must not be kept alive here either (its sockets are freed with it).
_reading: weakref.WeakKeyDictionary[aiohttp.ClientSession, set[aiohttp.ClientResponse]] = (
    weakref.WeakKeyDictionary()
)


class _LoopSession:
    """A session, and what closes it inside its loop before that loop closes.

    asyncio has no "loop closing" callback, but it does finish every async generator still
    suspended when it shuts down (``asyncio.run`` calls ``loop.shutdown_asyncgens()`` before
    closing the loop), and one that is garbage-collected while its loop runs. ``_closer`` is
    such a generator, started here (inside the loop, so that the loop tracks it) and suspended
    until then; its ``finally`` closes the session in the right loop.
    """

    __slots__ = ("_closer", "session")

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        _reading[session] = set()
        self._closer = _closer(session)
        # Run it to its ``yield`` now: nothing in it awaits before, so one send() does it.
        with contextlib.suppress(StopIteration):
            self._closer.asend(None).send(None)

    async def close(self) -> None:
        await self._closer.aclose()


async def _closer(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        # The readers resume only once close() below has marked the session closed.
        for resp in _reading.pop(session, ()):
            resp.content.set_exception(aiohttp.ClientConnectionError("the session was closed"))
        await session.close()


async def send(
    session: aiohttp.ClientSession,
    method: str,
    url: URL,
    body: bytes | None,
    *,
    timeout: aiohttp.ClientTimeout,
    path: str,
    secrets: Iterable[str],
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
) -> tuple[int, bytes]:
    """Send one request and read the whole answer: ``(HTTP status, body bytes)``.

    Failures raise :class:`APIConnectionError` / :class:`APITimeoutError` named by ``path``, with
    ``request_sent=False`` only when the request cannot have reached the server (connect phase).
    An answer of more than ``max_bytes`` (decompressed) raises :class:`ResponseTooLargeError`
    once that much was read, or at once when its ``Content-Length`` says so.
    """
    # A payload built here, typed as JSON, spares aiohttp its payload-registry lookup and a
    # header merge on every call.
    data = None if body is None else BytesPayload(body, content_type="application/json")
    error: WeComError
    cause: BaseException | None
    try:
        async with session.request(
            method,
            url,
            data=data,
            timeout=timeout,
            allow_redirects=False,
        ) as resp:
            reads = _reading.get(session)  # None for a session the caller owns
            if reads is not None:
                reads.add(resp)
            try:
                length = resp.content_length
                if (
                    length is not None
                    and length <= max_bytes
                    and hdrs.CONTENT_ENCODING not in resp.headers
                ):
                    # The common case, not compressed: exactly `length` bytes follow (aiohttp
                    # reads no more), so the bound holds.
                    return resp.status, await resp.read()
                if length is not None and length > max_bytes:
                    # Compressed or not, an answer this long on the wire is too large.
                    resp.close()
                    raise ResponseTooLargeError(max_bytes, path=path)
                return resp.status, await _read_at_most(resp, max_bytes, path)
            finally:
                if reads is not None:
                    reads.discard(resp)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        if session.closed:  # closed under the call: the failure is only a consequence
            error, cause = ClientClosedError(_CLOSED_IN_FLIGHT, request_sent=True), None
        else:
            error, cause = _wrap(exc, path, secrets)
    except RuntimeError:
        if not session.closed:
            raise
        # aiohttp's "Session is closed": a borrowed session, closed by its owner
        raise ClientClosedError("the aiohttp session is closed") from None
    # Raised outside the except block, so that the raw aiohttp error (which may show a secret)
    # is not kept as __context__ either.
    raise error from cause


async def _read_at_most(resp: aiohttp.ClientResponse, max_bytes: int, path: str) -> bytes:
    """The body of a compressed or chunked answer, read piece by piece up to ``max_bytes``.

    ``resp.read()`` would lift aiohttp's bound on how much one network read may decompress to:
    a 0.5 MB gzip answer could then take a gigabyte at once. ``readany`` keeps that bound
    (aiohttp decompresses at most about one read buffer per network read).
    """
    content = resp.content
    blocks: list[bytes] = []
    size = 0
    while block := await content.readany():
        size += len(block)
        if size > max_bytes:
            resp.close()  # drop the connection: the rest is not read
            raise ResponseTooLargeError(max_bytes, path=path)
        blocks.append(block)
    return b"".join(blocks)


def _classify(exc: BaseException) -> tuple[type[APIConnectionError], str, bool]:
    """Our error class, a short description, and whether the request may have been sent."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return APITimeoutError, "connect timeout", False
    if isinstance(exc, asyncio.TimeoutError):
        return APITimeoutError, "timeout", True
    if isinstance(exc, aiohttp.ClientConnectorError):
        return APIConnectionError, "cannot connect", False
    return APIConnectionError, "connection failed", True


def _wrap(
    exc: BaseException, path: str, secrets: Iterable[str]
) -> tuple[APIConnectionError, BaseException | None]:
    """Our error for ``exc`` and the cause to chain, with every secret scrubbed from both."""
    cls, what, request_sent = _classify(exc)
    # As sent, and as they appear URL-encoded in the URLs aiohttp prints.
    secrets = sorted(
        {v for s in secrets if s for v in (s, quote(s, safe=""))}, key=len, reverse=True
    )
    exc.args = tuple(_scrub(a, secrets) if isinstance(a, str) else a for a in exc.args)
    detail = _scrub(str(exc), secrets)
    described = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    error = cls(f"{what} ({described})", path=path, request_sent=request_sent)
    # Chain the original only when nothing in it still shows a secret (some aiohttp errors keep
    # the URL in attributes that their str() and repr() print).
    text = f"{exc!s} {exc!r}"
    if any(secret in text for secret in secrets):
        return error, None
    return error, exc


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text
