"""What every command shares: connection options, running a coroutine, errors in one line.

Exit codes (documented in ``wecom-async --help``):

* 0: everything done;
* 1: an error (WeCom refused, the server is unreachable, a fetch stopped early…);
* 2: bad usage or bad input (a malformed ID file, an invalid schedule, missing credentials);
* 3: some IDs failed after retries (``schedules fetch``: rerun with ``--resume``);
* 4: some IDs were not found (WeCom did not return them);
* 128 + N: interrupted by signal N (130 for Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
import sys
import traceback
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import attrs
import click
import orjson
from rich.console import Console
from yarl import URL

from .. import (
    AccessTokenError,
    APIConnectionError,
    APITimeoutError,
    BulkFetchError,
    ConcurrencyLimitError,
    FrequencyLimitError,
    HTTPStatusError,
    InvalidCredentialsError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ResourceDeletedError,
    ResponseDecodeError,
    ServerBusyError,
    ValidationError,
    WeComAPIError,
    WeComClient,
    WeComError,
)

__all__ = [
    "EXIT_ERROR",
    "EXIT_FAILED",
    "EXIT_MISSING",
    "EXIT_OK",
    "EXIT_USAGE",
    "CLIError",
    "Connection",
    "api_options",
    "describe_error",
    "dump_json",
    "run",
    "stderr_console",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_FAILED = 3
EXIT_MISSING = 4

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
ERRCODE_LOOKUP = "https://open.work.weixin.qq.com/devtool/query?e="

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


class CLIError(Exception):
    """An error shown as one ``Error: …`` line on stderr, with an exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def stderr_console() -> Console:
    """Where progress, reports and messages go: stdout is kept for data."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def dump_json(data: Any, *, pretty: bool = False) -> bytes:
    """JSON bytes (UTF-8, Chinese kept as is), indented when ``pretty``."""
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 if pretty else 0)


# --- connection ----------------------------------------------------------------------------------


@attrs.frozen
class Connection:
    """Where and as whom to call WeCom: from flags, else from ``WECOM_*`` variables."""

    corp_id: str | None
    corp_secret: str | None = attrs.field(repr=False)
    base_url: str
    timeout: float
    max_retries: int
    debug: bool
    #: Shares quotas and tokens with other processes (may hold a password: never shown).
    redis_url: str | None = attrs.field(default=None, repr=False)

    def client(self) -> WeComClient:
        """A client, or a usage error naming what is missing (never the secret's value)."""
        if not self.corp_id:
            raise CLIError(
                "no corp ID: pass --corp-id or set WECOM_CORP_ID (to try without an account, "
                "start `wecom-async fake-server` and use the values it prints)",
                EXIT_USAGE,
            )
        if not self.corp_secret:
            raise CLIError(
                "no corp secret: set WECOM_CORP_SECRET (or pass --corp-secret; a flag is "
                "visible to other users in `ps`)",
                EXIT_USAGE,
            )
        try:
            return WeComClient(
                corp_id=self.corp_id,
                corp_secret=self.corp_secret,
                base_url=self.base_url,
                timeout=self.timeout,
                max_retries=self.max_retries,
                redis=self.redis_url or None,
            )
        except (ImportError, ValueError) as exc:  # redis-py missing, or not a Redis URL
            if not self.redis_url:
                raise
            raise CLIError(f"--redis-url/WECOM_REDIS_URL: {exc}", EXIT_USAGE) from None

    def scrub(self, text: str) -> str:
        """``text`` with the secrets replaced (belt and braces: our messages never carry them)."""
        if self.corp_secret and len(self.corp_secret) >= 4:
            text = text.replace(self.corp_secret, "***")
        password = URL(self.redis_url).password if self.redis_url else None
        if password and len(password) >= 4:
            text = text.replace(password, "***")
        return text


def _check_base_url(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise click.BadParameter(f"{value!r} is not an http:// or https:// URL")
    return value.rstrip("/")


_API_OPTIONS: tuple[Callable[[F], F], ...] = (
    click.option(
        "--corp-id",
        envvar="WECOM_CORP_ID",
        show_envvar=True,
        metavar="ID",
        help="Corp ID (企业ID), from the admin console's 我的企业 page.",
    ),
    click.option(
        "--corp-secret",
        envvar="WECOM_CORP_SECRET",
        show_envvar=True,
        metavar="SECRET",
        help="Secret of an app allowed to use the schedule API. Prefer the variable: a flag "
        "shows in `ps`. Never printed.",
    ),
    click.option(
        "--base-url",
        envvar="WECOM_BASE_URL",
        show_envvar=True,
        default=DEFAULT_BASE_URL,
        show_default=True,
        callback=_check_base_url,
        metavar="URL",
        help="API root (a fake server or a proxy).",
    ),
    click.option(
        "--timeout",
        type=click.FloatRange(min=0.1),
        default=30.0,
        show_default=True,
        metavar="SECONDS",
        help="Time limit of one call.",
    ),
    click.option(
        "--max-retries",
        type=click.IntRange(0, 20),
        default=3,
        show_default=True,
        metavar="N",
        help="Retries of a call that failed transiently (busy, 5xx, timeouts, quotas).",
    ),
    click.option(
        "--debug", is_flag=True, help="Log every call and show tracebacks (secrets are masked)."
    ),
    click.option(
        "--redis-url",
        envvar="WECOM_REDIS_URL",
        show_envvar=True,
        metavar="URL",
        help="Share the corp's quotas and access token with other processes through this "
        "Redis (redis://[:password@]host:port/db; needs wecom-async[redis]). Prefer the "
        "variable when it holds a password.",
    ),
)


def api_options(func: Callable[..., T]) -> Callable[..., T]:
    """Add the connection options; the command receives them as ``conn: Connection``."""

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        corp_id: str | None,
        corp_secret: str | None,
        base_url: str,
        timeout: float,
        max_retries: int,
        debug: bool,
        redis_url: str | None,
        **kwargs: Any,
    ) -> T:
        root = click.get_current_context().find_root()
        conn = Connection(
            corp_id=corp_id,
            corp_secret=corp_secret,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            debug=debug or bool(root.params.get("debug")),
            redis_url=redis_url,
        )
        return func(*args, conn=conn, **kwargs)

    decorated: Callable[..., T] = wrapper
    for option in reversed(_API_OPTIONS):
        decorated = option(decorated)
    return decorated


# --- running and errors ------------------------------------------------------------------------


def run(conn: Connection | None, main: Coroutine[Any, Any, T], *, debug: bool = False) -> T:
    """Run ``main`` in a new event loop; turn library errors into one-line :class:`CLIError`."""
    debug = debug or (conn is not None and conn.debug)
    if debug:
        _debug_logging()
    try:
        return asyncio.run(main)
    except (CLIError, click.exceptions.Exit, click.Abort, KeyboardInterrupt, BrokenPipeError):
        raise
    except (WeComError, OSError) as exc:
        message = describe_error(exc, conn)
        if conn is not None:
            message = conn.scrub(message)
        if debug:
            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            click.echo(conn.scrub(text) if conn is not None else text, err=True, nl=False)
        if isinstance(exc, ValidationError):
            exit_code = EXIT_USAGE
        elif isinstance(exc, NotFoundError):
            exit_code = EXIT_MISSING
        else:
            exit_code = EXIT_ERROR
        raise CLIError(message, exit_code) from exc


async def cancel_on_signals(main: Coroutine[Any, Any, T], received: list[int]) -> T | None:
    """Run ``main`` as a task that SIGINT and SIGTERM cancel; None if a signal stopped it.

    The signals received are appended to ``received`` (the first one decides the exit code,
    128 + N); the command then reports what was done before it, instead of dying without a word.
    """
    loop = asyncio.get_running_loop()
    work = asyncio.ensure_future(main)

    def on_signal(signum: int) -> None:
        received.append(signum)
        work.cancel()

    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, on_signal, signum)
            installed.append(signum)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not on this platform
            pass
    try:
        return await work
    except asyncio.CancelledError:
        if not received:
            raise
        return None
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def _debug_logging() -> None:
    from rich.logging import RichHandler

    handler = RichHandler(console=stderr_console(), show_path=False, markup=False)
    logger = logging.getLogger("wecom_async")
    if not any(isinstance(h, RichHandler) for h in logger.handlers):
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def _short_errmsg(errmsg: str) -> str:
    """WeCom's errmsg without the request hint and the "more info" link."""
    for marker in (", hint:", " hint:", ", more info"):
        index = errmsg.find(marker)
        if index > 0:
            errmsg = errmsg[:index]
    return errmsg.strip() or "no message"


def _api_advice(exc: WeComAPIError) -> str:
    code = exc.errcode
    if isinstance(exc, InvalidCredentialsError):
        return (
            "check --corp-id/WECOM_CORP_ID and --corp-secret/WECOM_CORP_SECRET: the secret must "
            "be that of an app allowed to use the schedule API (日程)"
        )
    if isinstance(exc, AccessTokenError):
        return (
            "the access token was refused even after a refresh: retry, and make sure nobody "
            "reset this app's secret"
        )
    if code == 60020:
        return "add this machine's IP to the app's trusted IPs (企业可信IP) in the admin console"
    if code == 48002:
        return f"this app may not call {exc.path}: give it the schedule API in the admin console"
    if isinstance(exc, PermissionDeniedError):
        return (
            "the app cannot see or change this object: it must be within the app's visibility "
            "range (or created by this app)"
        )
    if isinstance(exc, FrequencyLimitError):
        return (
            f"over WeCom's call quota for {exc.path}: the API is blocked for the rest of the "
            "minute or hour; rerun later (schedules fetch: with --resume)"
        )
    if isinstance(exc, ConcurrencyLimitError):
        return "too many calls at once: lower --concurrency"
    if isinstance(exc, ServerBusyError):
        return "WeCom stayed busy after all retries: try again later or raise --max-retries"
    if isinstance(exc, ResourceDeletedError):
        return "it was deleted"
    if isinstance(exc, NotFoundError):
        return "check the ID: it must exist in this corp and be visible to this app"
    if isinstance(exc, InvalidRequestError):
        return f"WeCom rejected a parameter; the errcode is explained at {ERRCODE_LOOKUP}{code}"
    return f"the errcode is explained at {ERRCODE_LOOKUP}{code}"


def describe_error(exc: BaseException, conn: Connection | None) -> str:
    """One line: what went wrong (errcode and meaning) — and what to do about it."""
    base_url = conn.base_url if conn is not None else "the server"
    if isinstance(exc, ValidationError):
        return str(exc)
    if isinstance(exc, BulkFetchError) and exc.failures:
        count = len(exc.failed_ids)
        noun = "ID" if count == 1 else "IDs"
        return f"{describe_error(exc.failures[0].error, conn)} ({count:,} {noun} not fetched)"
    if isinstance(exc, WeComAPIError):
        what = f"WeCom errcode {exc.errcode} ({_short_errmsg(exc.errmsg)}) on {exc.path}"
        return f"{what} — {_api_advice(exc)}"
    if isinstance(exc, APITimeoutError):
        return (
            f"{base_url} did not answer in time ({exc}) — retry, or raise --timeout (now per call)"
        )
    if isinstance(exc, APIConnectionError):
        return (
            f"cannot reach {base_url}: {exc} — check --base-url/WECOM_BASE_URL, that the "
            "server is up, and the network"
        )
    if isinstance(exc, HTTPStatusError):
        if exc.status >= 500:
            return (
                f"{base_url} answered HTTP {exc.status} on {exc.path} after all retries — WeCom "
                "or a proxy in between is failing; retry later"
            )
        return (
            f"{base_url} answered HTTP {exc.status} on {exc.path}: not a WeCom API — check "
            "--base-url/WECOM_BASE_URL"
        )
    if isinstance(exc, ResponseDecodeError):
        return f"{exc} — is {base_url} really the WeCom API? Check --base-url/WECOM_BASE_URL"
    if isinstance(exc, OSError):
        name = f" {exc.filename}" if exc.filename else ""
        return f"cannot use{name}: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


def exit_code_for_signal(signum: int) -> int:
    return 128 + signum


def echo_err(text: str) -> None:
    click.echo(text, err=True)


def stdout_write(data: bytes) -> None:
    """Write bytes to stdout, at once (a pipe reader sees them as they come)."""
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def is_interactive() -> bool:
    return sys.stdin.isatty()
