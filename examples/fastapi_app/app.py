"""A FastAPI service that adds and reads WeCom schedules through ONE shared ``WeComClient``.

Run it (from the repository root)::

    WECOM_CORP_ID=... WECOM_CORP_SECRET=... uvicorn examples.fastapi_app.app:app

Configuration from the environment: ``WECOM_CORP_ID``, ``WECOM_CORP_SECRET`` (required),
``WECOM_BASE_URL`` (e.g. a fake WeCom, ``python -m wecom_async.testing``) and
``WECOM_REDIS_URL`` (share quotas and the token with the service's other processes).

The rule: one client per event loop (so per process), created in the lifespan and closed when
the app stops. A client per request would fetch a token and open a connection pool each time,
and each would count its own quota; a client created at import time is bound to no loop yet.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

import attrs
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from wecom_async import (
    ConcurrencyLimitError,
    NotFoundError,
    RateLimitError,
    ValidationError,
    WeComAPIError,
    WeComClient,
    WeComError,
)
from wecom_async.models import Schedule

#: Retry-After for a 45009: WeCom blocks the API for the rest of the window exceeded (a minute
#: for the per-minute quota; we do not know which window, so we ask for the shorter one).
FREQUENCY_RETRY_AFTER = 60
#: Retry-After for a 45033 (too many concurrent calls): it clears as soon as calls finish.
CONCURRENCY_RETRY_AFTER = 1


@attrs.frozen
class Settings:
    corp_id: str
    corp_secret: str = attrs.field(repr=False)  # never in a log or a repr
    base_url: str | None = None
    redis_url: str | None = attrs.field(default=None, repr=False)  # may carry a password

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        missing = [name for name in ("WECOM_CORP_ID", "WECOM_CORP_SECRET") if not environ.get(name)]
        if missing:
            raise RuntimeError(f"set {' and '.join(missing)} in the environment")
        return cls(
            corp_id=environ["WECOM_CORP_ID"],
            corp_secret=environ["WECOM_CORP_SECRET"],
            base_url=environ.get("WECOM_BASE_URL") or None,
            redis_url=environ.get("WECOM_REDIS_URL") or None,
        )


class ScheduleIn(BaseModel):
    start_time: int
    end_time: int
    summary: str | None = None
    description: str | None = None
    location: str | None = None
    attendees: list[str] | None = None
    cal_id: str | None = None


class ScheduleOut(BaseModel):
    schedule_id: str
    start_time: int
    end_time: int
    summary: str
    description: str
    location: str
    attendees: list[str]
    cal_id: str
    cancelled: bool

    @classmethod
    def of(cls, schedule: Schedule) -> ScheduleOut:
        return cls(
            schedule_id=schedule.schedule_id,
            start_time=schedule.start_time,
            end_time=schedule.end_time,
            summary=schedule.summary,
            description=schedule.description,
            location=schedule.location,
            attendees=[attendee.userid for attendee in schedule.attendees],
            cal_id=schedule.cal_id,
            cancelled=schedule.is_cancelled,
        )


class Created(BaseModel):
    schedule_id: str


def get_wecom(request: Request) -> WeComClient:
    """The app's one client (made in the lifespan), for ``Depends``."""
    client: WeComClient = request.app.state.wecom
    return client


Wecom = Annotated[WeComClient, Depends(get_wecom)]


def error_response(exc: WeComError) -> JSONResponse:
    """A WeComError as an HTTP answer: what the caller can act on, never a secret (the library's
    messages carry none: API path, errcode and WeCom's errmsg only)."""
    body: dict[str, Any] = {"error": type(exc).__name__, "detail": str(exc)}
    if isinstance(exc, WeComAPIError):
        body["errcode"] = exc.errcode
    if isinstance(exc, ValidationError):
        body["problems"] = [{"path": p.path, "message": p.message} for p in exc.problems]
        return JSONResponse(body, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    if isinstance(exc, NotFoundError):
        return JSONResponse(body, status_code=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, RateLimitError):
        retry_after = (
            CONCURRENCY_RETRY_AFTER
            if isinstance(exc, ConcurrencyLimitError)
            else FREQUENCY_RETRY_AFTER
        )
        return JSONResponse(
            body,
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(retry_after)},
        )
    # WeCom or the way to it failed (permissions, credentials, timeouts…): a bad gateway.
    return JSONResponse(body, status_code=status.HTTP_502_BAD_GATEWAY)


def create_app(settings: Settings | None = None, **client_options: Any) -> FastAPI:
    """The app. ``settings`` default to the environment (read at startup); ``client_options``
    go to ``WeComClient`` (``timeout=``, ``rate_limits=``…)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        config = settings if settings is not None else Settings.from_env()
        options = dict(client_options)
        if config.base_url is not None:
            options["base_url"] = config.base_url
        if config.redis_url is not None:
            options["redis"] = config.redis_url
        async with WeComClient(
            corp_id=config.corp_id, corp_secret=config.corp_secret, **options
        ) as client:
            app.state.wecom = client
            yield

    app = FastAPI(title="wecom_async example", lifespan=lifespan)

    @app.exception_handler(WeComError)
    async def on_wecom_error(request: Request, exc: WeComError) -> JSONResponse:
        return error_response(exc)

    @app.post("/schedules", status_code=status.HTTP_201_CREATED)
    async def add_schedule(body: ScheduleIn, wecom: Wecom) -> Created:
        schedule_id = await wecom.schedules.add(**body.model_dump(exclude_none=True))
        return Created(schedule_id=schedule_id)

    @app.get("/schedules/{schedule_id}")
    async def get_schedule(schedule_id: str, wecom: Wecom) -> ScheduleOut:
        found = await wecom.schedules.get([schedule_id])
        if not found:  # WeCom leaves unknown IDs out of its answer
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such schedule")
        return ScheduleOut.of(found[0])

    return app


app = create_app()
