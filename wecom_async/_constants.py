"""Documented defaults: where WeCom lives and how long we wait for it."""

from __future__ import annotations

import aiohttp

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"

#: 30 s for each HTTP attempt, 10 s for the TCP/TLS connect. schedule/get answers of 1000
#: schedules are ~1–2 MB. ``sock_connect`` rather than ``connect``: the latter also arms a timer
#: around taking a pooled connection on every call (measured ~5 µs a call, benchmark B4), and
#: waiting for a free pooled connection is already bounded by ``total``.
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=30.0, sock_connect=10.0)

#: Connections per session pool: over a real network ~25–50 calls are in flight at full quota
#: (≈167 calls/s × 0.15–0.3 s), so the limiter, not the connector, bounds throughput.
DEFAULT_CONNECTION_LIMIT = 100

#: Largest answer read, after decompression: 64 MiB. A schedule/get answer of 1000 schedules with
#: full-length texts is ~1.6 MB, ~12 MB with 200 attendees each, ~56 MB with the maximum 1000
#: (20-character user IDs); only 64-byte user IDs on top of that reach ~100 MB (lower
#: ``chunk_size`` or raise the limit for such data). Past it, reading stops: a huge answer or a
#: gzip bomb costs at most this much.
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
