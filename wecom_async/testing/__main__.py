"""``python -m wecom_async.testing``: serve a fake WeCom until Ctrl-C (or SIGTERM).

Prints the base URL and the credentials to use, e.g.::

    python -m wecom_async.testing --port 8080 --corp-id wwdemo --corp-secret s3cret
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import signal
import sys
from collections.abc import Sequence

from ._server import FakeWeCom


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m wecom_async.testing", description="Serve a fake WeCom API on loopback."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port (0 = a free one)")
    parser.add_argument("--corp-id", help="corp ID (default: generated)")
    parser.add_argument("--corp-secret", help="corp secret (default: random)")
    parser.add_argument("--token-ttl", type=int, default=7200, help="access token lifetime (s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of generated IDs")
    args = parser.parse_args(argv)
    if args.corp_secret is not None and args.corp_id is None:
        parser.error("--corp-secret needs --corp-id")
    return args


async def _serve(args: argparse.Namespace) -> None:
    corps = None
    if args.corp_id is not None:
        secret = args.corp_secret
        if secret is None:
            secret = secrets.token_urlsafe(32)
        corps = {args.corp_id: secret}
    fake = FakeWeCom(
        corps=corps, host=args.host, port=args.port, token_ttl=args.token_ttl, seed=args.seed
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with fake:
        print(f"base_url:       {fake.base_url}", flush=True)
        print(f"corp_id:        {fake.corp_id}", flush=True)
        print(f"corp_secret:    {fake.corp_secret}", flush=True)
        print(f"default cal_id: {fake.default_cal_id()}", flush=True)
        print("serving; Ctrl-C to stop", file=sys.stderr, flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> None:
    args = _parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
