"""``wecom-async fake-server``: the fake WeCom server standalone, for tests in any language.

It prints ``KEY=value`` lines on stdout (``WECOM_BASE_URL``, ``WECOM_CORP_ID``,
``WECOM_CORP_SECRET``, ``WECOM_CAL_ID``, and with ``--schedules`` ``WECOM_SEEDED_CAL_IDS``: the
comma-separated calendars holding them) — easy to parse, or to ``export`` — and explanations
on stderr, then serves until Ctrl-C or SIGTERM. These credentials are the fake's own test
credentials: it never reads ``WECOM_*`` variables, so a real secret cannot leak into its output.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import sys
from typing import TYPE_CHECKING, Any

import attrs
import click

from ._common import EXIT_USAGE, CLIError, echo_err

if TYPE_CHECKING:
    from ..testing import FaultProfile, Quota

__all__ = ["parse_faults", "parse_quota", "serve"]

_PROFILE_KEYS = {
    "busy": "busy_rate",
    "http502": "http_502_rate",
    "http503": "http_503_rate",
    "drop": "drop_rate",
    "drop-after": "drop_after_rate",
    "slow": "slow_rate",
    "late": "late_rate",
    "slow-seconds": "slow_seconds",
    "token-invalidation": "token_invalidation_rate",
}

FAULTS_HELP = (
    "Comma-separated faults: RATE keys (0…1 of the calls) busy (errcode -1), http502, http503, "
    "drop, drop-after, slow, late, token-invalidation; slow-seconds=S (for slow/late, default "
    "1); latency=S (every call waits S seconds); seed=N; path=API (only that API, e.g. "
    "oa/schedule/get). Example: busy=0.05,http502=0.01,latency=0.2"
)


@attrs.frozen
class FaultSpec:
    profile: FaultProfile | None
    latency: float
    path: str | None


def parse_quota(spec: str | None) -> Quota | None:
    """``"off"``, ``"600/min"``, ``"600/min,20000/hour"`` → a :class:`Quota` (None: no quota)."""
    from ..testing import Quota  # the fake's modules load only for the commands that need them

    if spec is None:
        return Quota()
    if spec.strip().lower() in ("off", "none", "0"):
        return None
    per_minute: int | None = Quota().per_minute
    per_hour: int | None = Quota().per_hour
    for part in spec.split(","):
        count, _, unit = part.strip().partition("/")
        try:
            value = int(count)
        except ValueError:
            raise click.BadParameter(
                f"{part!r}: write N/min or N/hour", param_hint="--quota"
            ) from None
        if value < 1:
            raise click.BadParameter(f"{part!r}: the count must be ≥ 1", param_hint="--quota")
        if unit in ("min", "minute", "m"):
            per_minute = value
        elif unit in ("hour", "h"):
            per_hour = value
        else:
            raise click.BadParameter(f"{part!r}: the unit is /min or /hour", param_hint="--quota")
    return Quota(per_minute=per_minute, per_hour=per_hour)


def parse_faults(spec: str | None) -> FaultSpec:
    from ..testing import FaultProfile

    if not spec:
        return FaultSpec(None, 0.0, None)
    rates: dict[str, Any] = {}
    latency = 0.0
    path: str | None = None
    for part in spec.split(","):
        key, sep, value = part.strip().partition("=")
        key = key.strip().lower()
        if not sep:
            raise click.BadParameter(f"{part!r}: write KEY=VALUE", param_hint="--faults")
        if key == "path":
            path = value.strip()
            continue
        try:
            number = float(value)
        except ValueError:
            raise click.BadParameter(
                f"{part!r}: {value!r} is not a number", param_hint="--faults"
            ) from None
        if key == "latency":
            if number < 0:
                raise click.BadParameter("latency must be ≥ 0", param_hint="--faults")
            latency = number
        elif key == "seed":
            rates["seed"] = int(number)
        elif key in _PROFILE_KEYS:
            rates[_PROFILE_KEYS[key]] = number
        else:
            known = ", ".join([*_PROFILE_KEYS, "latency", "seed", "path"])
            raise click.BadParameter(
                f"unknown fault {key!r} (known: {known})", param_hint="--faults"
            )
    profile = None
    if set(rates) - {"seed"}:
        try:
            profile = FaultProfile(**rates, paths=None if path is None else [path])
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--faults") from None
    return FaultSpec(profile, latency, path)


def _write_ids(path: str, ids: list[str]) -> None:
    try:
        with open(path, "w", encoding="utf-8") as file:
            file.writelines(f"{i}\n" for i in ids)
    except OSError as exc:
        raise CLIError(
            f"cannot write --ids-out {path}: {exc.strerror or exc}", EXIT_USAGE
        ) from None


async def serve(
    *,
    host: str,
    port: int,
    corp_id: str | None,
    corp_secret: str | None,
    quota: Quota | None,
    faults: FaultSpec,
    max_concurrency: int | None,
    token_ttl: int,
    seed: int,
    schedules: int,
    ids_out: str | None,
) -> None:
    from .._demo import create_demo_calendars, demo_dataset
    from ..testing import FakeWeCom

    corps = None
    if corp_id is not None:
        import secrets

        corps = {corp_id: corp_secret or secrets.token_urlsafe(24)}
    fake = FakeWeCom(
        corps=corps,
        host=host,
        port=port,
        token_ttl=token_ttl,
        seed=seed,
        quota=quota,
        max_concurrency=max_concurrency,
        fault_profile=faults.profile,
        record_bodies=False,
    )
    if faults.latency:
        fake.faults.latency(faults.latency, times=None, path=faults.path)
    ids: list[str] = []
    names: dict[str, str] = {}
    if schedules:
        names = create_demo_calendars(fake)
        del names[fake.default_cal_id()]
        ids = fake.seed_schedules(demo_dataset(schedules, cal_ids=tuple(names), seed=seed))
    if ids_out is not None:
        _write_ids(ids_out, ids)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await fake.start()
    except OSError as exc:
        hint = " (address already in use)" if exc.errno == errno.EADDRINUSE else ""
        raise CLIError(
            f"cannot listen on {host}:{port}{hint}: {exc.strerror or exc} — pick another --port "
            "(0 = any free port)",
            EXIT_USAGE,
        ) from None
    try:
        click.echo(f"WECOM_BASE_URL={fake.base_url}")
        click.echo(f"WECOM_CORP_ID={fake.corp_id}")
        click.echo(f"WECOM_CORP_SECRET={fake.corp_secret}")
        click.echo(f"WECOM_CAL_ID={fake.default_cal_id()}")
        if names:
            # The calendars holding the seeded schedules (for `schedules list --cal-id`).
            click.echo(f"WECOM_SEEDED_CAL_IDS={','.join(names)}")
        sys.stdout.flush()
        extra = f", {len(ids):,} schedules" if ids else ""
        where = f" (IDs in {ids_out})" if ids_out and ids else ""
        echo_err(
            f"Fake WeCom serving at {fake.base_url}{extra}{where}. These are test credentials: "
            "export the lines above to point wecom-async (or any WeCom SDK) at it. "
            "Ctrl-C to stop."
        )
        if names:
            echo_err(
                "Seeded calendars: " + ", ".join(f"{n} {c}" for c, n in names.items()),
            )
        await stop.wait()
    finally:
        await fake.close()
    echo_err("Fake WeCom stopped.")
