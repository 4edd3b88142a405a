"""When to retry a failed call, and after how long: pure decisions, no sleeping here.

The client asks :meth:`RetryPolicy.delay_for` after each failed attempt; ``None`` means "raise".
The rules follow what the request may already have done on the server:

* WeCom answered ``-1`` (busy) or ``6000`` (data version conflict): it did nothing; retry with
  exponential backoff and jitter.
* ``45033`` (too many concurrent calls): back off; the client also lowers its concurrency.
* ``45009`` (frequency over the quota): WeCom blocks the API for the rest of the window, so the
  client cools the API's limiter down for ``frequency_block_seconds`` and retries after it.
* HTTP 5xx, connection resets and timeouts: the request may have reached WeCom. Only idempotent
  calls are retried (schedule/get), unless the caller opts in with ``retry_unsafe=True``.
  schedule/add has no idempotency key: a read timeout may mean it was created, so it is retried
  only when the failure happened before the request could leave (connect phase).
* Anything else (validation, permissions, not found…) is final.

Token errors (40014/42001): the first one of a call is not a retry (the client fetches a new
token and resends at once, whatever the policy); a further one, after the new token was revoked
too, is retried like a busy answer.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import attrs

from ._options import (
    callable_value,
    finite_at_least,
    flag,
    int_at_least,
    int_set,
    int_set_valid,
    number_within,
)
from .errors import (
    AccessTokenError,
    APIConnectionError,
    ConcurrencyLimitError,
    FrequencyLimitError,
    HTTPStatusError,
    WeComAPIError,
)

__all__ = ["CallStats", "RetryPolicy"]


@attrs.define(slots=True)
class CallStats:
    """Counts of HTTP attempts and retries made for one caller (a bulk fetch), for progress."""

    calls: int = 0
    retries: int = 0


@attrs.frozen(slots=True)
class RetryPolicy:
    """Retry limits and backoff. Override per client (``with_options``) or per call.

    ``max_retries`` counts attempts after the first. The delay before retry *n* (from 0) is
    ``min(backoff_max, backoff_initial * 2**n)``, scaled by a random factor in
    ``[1 - jitter, 1]`` so that many clients do not retry in lockstep.
    """

    max_retries: int = attrs.field(default=3, validator=int_at_least(0))
    backoff_initial: float = attrs.field(default=0.5, validator=finite_at_least(0))
    backoff_max: float = attrs.field(default=8.0, validator=finite_at_least(0))
    jitter: float = attrs.field(default=0.5, validator=number_within(0, 1))
    #: Errcodes retried (any collection of ints; kept as a frozenset).
    retry_errcodes: frozenset[int] = attrs.field(
        default=frozenset({-1, 6000}), converter=int_set, validator=int_set_valid
    )
    #: HTTP statuses retried (any collection of ints; kept as a frozenset).
    retry_statuses: frozenset[int] = attrs.field(
        default=frozenset({500, 502, 503, 504}), converter=int_set, validator=int_set_valid
    )
    #: Seconds an API's limiter pauses after a 45009 (WeCom's minute window).
    frequency_block_seconds: float = attrs.field(default=60.0, validator=finite_at_least(0))
    #: Also retry non-idempotent calls after failures where the request may have been sent.
    retry_unsafe: bool = attrs.field(default=False, validator=flag)
    random: Callable[[], float] = attrs.field(
        default=random.random, repr=False, eq=False, validator=callable_value
    )

    def backoff(self, retry_number: int) -> float:
        """The delay before retry ``retry_number`` (0 for the first retry), jitter applied."""
        base = min(self.backoff_max, self.backoff_initial * (2.0 ** min(retry_number, 64)))
        return base * (1.0 - self.jitter * self.random())

    def delay_for(
        self, error: BaseException, retry_number: int, *, idempotent: bool
    ) -> float | None:
        """Seconds to wait before retrying after ``error``, or None to give up and raise it."""
        if retry_number >= self.max_retries:
            return None
        if isinstance(error, FrequencyLimitError):
            # WeCom blocks the API for the rest of the window. The limiter's cool-down holds
            # back every other call for as long; this call waits the same time.
            return self.frequency_block_seconds
        if isinstance(error, ConcurrencyLimitError):
            return self.backoff(retry_number)
        if isinstance(error, AccessTokenError):
            # WeCom rejected the call before acting on it; the client has dropped the token.
            return self.backoff(retry_number) if error.errcode != 41001 else None
        if isinstance(error, WeComAPIError):
            return self.backoff(retry_number) if error.errcode in self.retry_errcodes else None
        resend_ok = idempotent or self.retry_unsafe
        if isinstance(error, HTTPStatusError):
            retryable = error.status in self.retry_statuses and resend_ok
            return self.backoff(retry_number) if retryable else None
        if isinstance(error, APIConnectionError) and (not error.request_sent or resend_ok):
            return self.backoff(retry_number)
        return None
