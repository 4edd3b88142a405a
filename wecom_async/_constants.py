"""Documented defaults: where WeCom lives and how long we wait for it."""

from __future__ import annotations

import aiohttp

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"

#: 30 s for each HTTP attempt, 10 s to connect. schedule/get answers of 1000 schedules are ~1–2 MB.
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=30.0, connect=10.0)

#: Connections per session pool: over a real network ~25–50 calls are in flight at full quota
#: (≈167 calls/s × 0.15–0.3 s), so the limiter, not the connector, bounds throughput.
DEFAULT_CONNECTION_LIMIT = 100
