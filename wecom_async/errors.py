"""The exception tree, and the registry from WeCom errcode to exception class.

Every error raised by wecom_async derives from :class:`WeComError`. An answer with ``errcode != 0``
(WeCom answers HTTP 200 even then) becomes a :class:`WeComAPIError` subclass chosen by
:func:`error_class_for`; unknown codes fall back to :class:`WeComAPIError` itself, so callers can
always ``except WeComAPIError`` and read ``errcode``.

No message built here contains the corp secret or an access token: requests are described by
their API path only, never by their URL.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AccessTokenError",
    "CallbackPayloadError",
    "CallbackVerificationError",
    "ClientClosedError",
    "ConcurrencyLimitError",
    "DataVersionConflictError",
    "ExtraNotInstalledError",
    "FrequencyLimitError",
    "HTTPStatusError",
    "InvalidCredentialsError",
    "InvalidPermanentCodeError",
    "InvalidRequestError",
    "InvalidSuiteCredentialsError",
    "NotFoundError",
    "PermissionDeniedError",
    "Problem",
    "RateLimitError",
    "RateLimitsConflictError",
    "ResourceDeletedError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "ServerBusyError",
    "SuiteAccessTokenError",
    "SuiteTicketMissingError",
    "TransientAPIError",
    "UnexpectedError",
    "ValidationError",
    "WeComAPIError",
    "WeComError",
    "error_class_for",
    "register_errcode",
]


class WeComError(Exception):
    """Base class of every exception wecom_async raises."""


# --- raised before anything is sent ---------------------------------------------------------


@attrs.frozen(slots=True)
class Problem:
    """One rule a request broke: where (``attendees[3].userid``), what, and the documented limit."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ValidationError(WeComError, ValueError):
    """A request broke the documented limits; nothing was sent.

    ``problems`` lists every broken rule at once, each with its field path and the limit.
    """

    def __init__(self, problems: Iterable[Problem], *, model: str = "request") -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.model = model
        lines = "\n".join(f"  - {p}" for p in self.problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"invalid {model}: {count} {noun}\n{lines}")

    @property
    def paths(self) -> tuple[str, ...]:
        """The field paths of the problems, in order."""
        return tuple(p.path for p in self.problems)


# --- WeCom answered with errcode != 0 --------------------------------------------------------


class WeComAPIError(WeComError):
    """WeCom answered with ``errcode != 0``.

    Attributes: ``errcode`` and ``errmsg`` as WeCom sent them, ``path`` the API path called
    (``oa/schedule/add``), never the URL (it carries the access token).
    """

    #: A short hint of what to do, shown after WeCom's own message.
    hint: str = ""

    def __init__(self, errcode: int, errmsg: str, *, path: str) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path
        text = f"WeCom errcode {errcode} on {path}: {errmsg}"
        if self.hint:
            text = f"{text} ({self.hint})"
        super().__init__(text)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_api_error, (type(self), self.errcode, self.errmsg, self.path))


def _rebuild_api_error(
    cls: type[WeComAPIError], errcode: int, errmsg: str, path: str
) -> WeComAPIError:
    return cls(errcode, errmsg, path=path)


class InvalidCredentialsError(WeComAPIError):
    """The corp ID or secret is wrong, or the app is disabled (40001, 40013, 40091).

    Never retried, and remembered by the client for a while: repeated gettoken failures get the
    caller's IP blocked for an hour.
    """

    hint = "check corp_id and corp_secret; a new token will not help"


class InvalidSuiteCredentialsError(InvalidCredentialsError):
    """The suite ID, suite secret or suite ticket is wrong (40083, 40080, 40085).

    Raised by ``service/get_suite_token``; never retried, and remembered for a while like
    :class:`InvalidCredentialsError` (a 40085 is forgotten as soon as a new suite ticket arrives).
    """

    hint = "check suite_id and suite_secret; a stale suite_ticket is replaced by WeCom's next push"


class InvalidPermanentCodeError(InvalidCredentialsError):
    """The permanent code is wrong, of another suite, or the corp cancelled the authorisation
    (40084). Never retried: a new token will not help; the corp must authorise the app again."""

    hint = "the corp may have cancelled the authorisation"


class SuiteAccessTokenError(WeComAPIError):
    """The suite_access_token is invalid, expired or missing (40082, 42009, 41022).

    The provider drops it, fetches a new one and resends once (like 42001 for an access token)
    before raising this.
    """


class AccessTokenError(WeComAPIError):
    """The access token is missing, invalid or expired (41001, 40014, 42001).

    The client fetches a new token and retries the call once before raising this.
    """


class TransientAPIError(WeComAPIError):
    """A condition that may pass if the call is retried later."""


class ServerBusyError(TransientAPIError):
    """WeCom is busy (-1); retry later, at most a few times."""


class DataVersionConflictError(TransientAPIError):
    """Data version conflict (6000); retry later."""


class RateLimitError(TransientAPIError):
    """A WeCom frequency or concurrency limit was hit."""


class FrequencyLimitError(RateLimitError):
    """Calls per minute or per hour over the quota (45009).

    WeCom blocks the API for the rest of the window exceeded: retrying at once makes it worse.
    """

    hint = "the API is blocked for the rest of the quota window"


class ConcurrencyLimitError(RateLimitError):
    """Too many concurrent calls of one API for this corp (45033); lower the concurrency."""


class PermissionDeniedError(WeComAPIError):
    """The app may not call this API or touch this object (48002, 60011, 60020, 301002, 90466,
    90472, 90479…)."""


class NotFoundError(WeComAPIError):
    """The calendar or schedule ID is not valid (90457, 90461)."""


class ResourceDeletedError(NotFoundError):
    """The calendar or schedule was deleted (90459, 90460)."""


class InvalidRequestError(WeComAPIError):
    """WeCom rejected a parameter (40058, 47001 and the 904xx/907xx schedule codes)."""


_REGISTRY: dict[int, type[WeComAPIError]] = {}


def register_errcode(cls: type[WeComAPIError], *codes: int) -> None:
    """Map errcodes to an exception class (later registrations win)."""
    for code in codes:
        _REGISTRY[code] = cls


def error_class_for(errcode: int) -> type[WeComAPIError]:
    """The exception class for an errcode; :class:`WeComAPIError` for codes not registered."""
    return _REGISTRY.get(errcode, WeComAPIError)


# 40091: the secret is invalid (doc 90313), like 40001 a configuration error, not a stale token.
register_errcode(InvalidCredentialsError, 40001, 40013, 40091)
register_errcode(AccessTokenError, 40014, 41001, 42001)
# Service providers (doc 90313): 40080 bad suite_secret, 40083 bad suite_id, 40085 bad suite_ticket;
# 40084 bad permanent_code (also once the corp cancelled the authorisation); 40082 bad
# suite_access_token, 42009 expired one, 41022 none given. (84014 is a *member* ticket expired, not
# the suite ticket: not ours.)
register_errcode(InvalidSuiteCredentialsError, 40080, 40083, 40085)
register_errcode(InvalidPermanentCodeError, 40084)
register_errcode(SuiteAccessTokenError, 40082, 41022, 42009)
register_errcode(ServerBusyError, -1)
register_errcode(DataVersionConflictError, 6000)
register_errcode(FrequencyLimitError, 45009)
register_errcode(ConcurrencyLimitError, 45033)
# 90479: the app may not change a schedule a user created (only those it created itself).
register_errcode(PermissionDeniedError, 48002, 60011, 60020, 301002, 90466, 90472, 90479)
register_errcode(NotFoundError, 90457, 90461)
register_errcode(ResourceDeletedError, 90459, 90460)
# The schedule/calendar family of doc 90313 rejects a parameter or a change it does not allow:
# 90463/90468 the organizer cannot change, 90467 bad day of the week, 90474 the organizer cannot
# also be an attendee, 90475 the calendar is not the organizer's. The rest of the 9047x-9049x and
# 9070x-9071x codes are parameter checks of the same APIs (recurrence, calendar sharing and
# visibility, meeting rooms): fix the request, retrying cannot help.
# 40078 bad or used auth_code; 41021/41023/41024/41025/41026 suite_id, suite_ticket, secret,
# permanent_code or auth_code missing from a service/ call (doc 90313).
register_errcode(
    InvalidRequestError,
    40058,
    40078,
    41021,
    41023,
    41024,
    41025,
    41026,
    47001,
    90456,
    90458,
    90462,
    90463,
    90464,
    90465,
    90467,
    90468,
    90469,
    90470,
    90471,
    90473,
    90474,
    90475,
    90477,
    90480,
    90481,
    90482,
    90483,
    90484,
    90485,
    90486,
    90487,
    *range(90488, 90492),
    90492,
    90493,
    *range(90494, 90500),
    90700,
    90704,
    *range(90705, 90708),
    90708,
    90710,
)


# --- transport failures ------------------------------------------------------------------------


class APIConnectionError(WeComError):
    """The request could not be completed: connection refused or reset, DNS, TLS…

    ``request_sent`` is False only when the failure happened before any byte of the request could
    have reached WeCom (connect phase); a call that is not idempotent (schedule/add) is retried
    only then. The original exception is ``__cause__``.
    """

    def __init__(self, message: str, *, path: str, request_sent: bool) -> None:
        self.message = message
        self.path = path
        self.request_sent = request_sent
        super().__init__(f"{message} on {path}")

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild,
            (type(self), (self.message,), {"path": self.path, "request_sent": self.request_sent}),
        )


class APITimeoutError(APIConnectionError):
    """The call timed out (connect, read or total timeout)."""


class HTTPStatusError(WeComError):
    """WeCom (or a proxy in front of it) answered with an HTTP status other than 200."""

    def __init__(self, status: int, *, path: str) -> None:
        self.status = status
        self.path = path
        super().__init__(f"HTTP {status} on {path}")

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), (self.status,), {"path": self.path}))


class ResponseDecodeError(WeComError):
    """The answer was not the JSON we expected; ``excerpt`` holds its first bytes."""

    def __init__(self, message: str, *, path: str, excerpt: bytes = b"") -> None:
        self.message = message
        self.path = path
        self.excerpt = excerpt[:200]
        super().__init__(f"undecodable response on {path}: {message}")

    def __reduce__(self) -> tuple[object, ...]:
        kwargs = {"path": self.path, "excerpt": self.excerpt}
        return (_rebuild, (type(self), (self.message,), kwargs))


def _rebuild(cls: type[WeComError], args: tuple[object, ...], kwargs: dict[str, Any]) -> WeComError:
    """Unpickle an error whose constructor takes keyword-only arguments."""
    return cls(*args, **kwargs)


class ResponseTooLargeError(ResponseDecodeError):
    """The answer was larger than the client's ``max_response_bytes`` (after decompression).

    Reading stopped at the limit, so a huge answer or a gzip bomb costs at most that much memory.
    Not retried: the same request would get the same answer (a bulk fetch splits the chunk
    instead). ``limit`` is the limit in force.
    """

    def __init__(self, limit: int, *, path: str) -> None:
        self.limit = limit
        super().__init__(f"larger than max_response_bytes={limit}", path=path)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), (self.limit,), {"path": self.path}))


# --- callbacks (wecom_async.callbacks) ---------------------------------------------------------


class CallbackVerificationError(WeComError):
    """A callback could not be verified: signature, base64, AES, padding, length or receive_id.

    Nothing from such a callback is used. The message names what failed, never the token, the
    EncodingAESKey or the decrypted text.
    """


class CallbackPayloadError(CallbackVerificationError):
    """A callback's XML is unusable: not well-formed, a DTD or entity, too large or too deep.

    A subclass of :class:`CallbackVerificationError`: whatever fails, nothing is used.
    """


# --- misuse ------------------------------------------------------------------------------------


class ClientClosedError(WeComError, RuntimeError):
    """The client (or the pool or session it uses) was closed: nothing more can be sent with it.

    Raised by calls made after ``close()``, and by calls that were in flight when it happened;
    ``request_sent`` is True for those (the request may have reached WeCom).
    """

    def __init__(self, message: str, *, request_sent: bool = False) -> None:
        self.message = message
        self.request_sent = request_sent
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), (self.message,), {"request_sent": self.request_sent}))


class SuiteTicketMissingError(WeComError):
    """A :class:`~wecom_async.SuiteProvider` needs a suite_access_token but has no suite ticket
    yet: nothing was sent.

    WeCom pushes the ticket to the suite's command callback every 10 minutes (serve
    ``provider.callback_app()``), or pass the last one received (``provider.set_suite_ticket``).
    """


class RateLimitsConflictError(WeComError, ValueError):
    """Two clients of one corp in one event loop were given different :class:`RateLimits`.

    They share the corp's limiters (and WeCom's quota), so one of the two configurations would
    be silently ignored. Give every client of a corp the same ``RateLimits``.
    """


class ExtraNotInstalledError(WeComError, ImportError):
    """An optional part of wecom_async was imported without its extra installed.

    The message says what to install (``pip install 'wecom-async[callbacks]'``).
    """


class UnexpectedError(WeComError):
    """A call failed with an exception that is not a :class:`WeComError`.

    That is a bug, in wecom_async or in code it calls (a custom token store, an injected
    ``sleep``…). Every call wraps such a failure in this class (a bulk fetch reports its chunk
    failed like any other); the original exception is ``__cause__`` (and ``error``).
    ``CancelledError`` and ``KeyboardInterrupt`` are never wrapped.
    """

    def __init__(self, error: BaseException, *, path: str) -> None:
        self.error = error
        self.path = path
        super().__init__(f"unexpected {type(error).__name__} on {path}: {error}")

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), (self.error,), {"path": self.path}))
