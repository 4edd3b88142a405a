"""The demo (``wecom-async demo``): what wecom_async does, with no WeCom account.

It starts :class:`~wecom_async.testing.FakeWeCom` on loopback, creates a few calendars and a
realistic data set (Chinese summaries, attendees who answered or not, reminders, recurring
schedules, some cancelled), adds some schedules through the client, then bulk-fetches everything
(with duplicates, unknown IDs, ~200 ms of latency per call and a few injected failures that the
client retries) behind a live progress bar, and prints a summary and a sample schedule.

Only the public API is used. :func:`demo_dataset` also feeds ``wecom-async fake-server
--schedules N``.
"""

from __future__ import annotations

import asyncio
import base64
import random
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
from rich.console import Console, Group
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Column, Table
from rich.text import Text

from . import (
    Calendar,
    RateLimits,
    Reminders,
    RepeatType,
    ResponseStatus,
    Schedule,
    WeComClient,
)
from .testing import FakeWeCom

__all__ = [
    "DEMO_CALENDARS",
    "DemoResult",
    "create_demo_calendars",
    "demo_dataset",
    "render_calendar",
    "render_schedule",
    "run_demo",
]

_CST = timezone(timedelta(hours=8))
#: 2026-01-05, a Monday, 00:00 in Beijing: the data set covers the 13 weeks from there.
_FIRST_DAY = datetime(2026, 1, 5, tzinfo=_CST)

#: The demo's calendars: (summary, colour, description).
DEMO_CALENDARS: tuple[tuple[str, str, str], ...] = (
    ("团队日历", "#3F51B5", "研发团队的例会、评审与发布"),
    ("客户拜访", "#0BB27A", "销售与客户成功团队的外出安排"),
    ("招聘面试", "#FF8C00", "面试官轮值与候选人面试"),
    ("培训与分享", "#E91E63", "内部技术分享、入职与合规培训"),
)

_SURNAMES: tuple[str, ...] = ("zhang", "wang", "li", "zhao", "liu", "chen", "yang", "huang")
_SURNAMES += ("zhou", "wu", "xu", "sun", "ma", "zhu", "hu", "guo", "he", "lin", "luo", "gao")
_GIVEN: tuple[str, ...] = ("wei", "fang", "na", "min", "jing", "li", "qiang", "lei", "jun")
_GIVEN += ("yang", "yong", "yan", "jie", "tao", "ming", "chao", "hua", "ping")
_PRODUCTS = ("企业微信日程", "移动端 App", "数据平台", "支付网关", "客服系统")
_CLIENTS = (
    "华南 · 云帆科技",
    "前海 · 星河金融",
    "上海 · 锦程物流",
    "杭州 · 西溪数据",
    "成都 · 天府游戏",
)
_TOPICS = ("异步编程", "限流与重试", "可观测性", "数据库索引", "Rust 入门", "压测方法")
_ROLES = ("后端工程师", "产品经理", "数据分析师", "前端工程师", "测试工程师")
_BOOKS = ("人月神话", "重构", "黑客与画家", "设计数据密集型应用")
_ROOMS = (
    "广州 · 媒体港 10F 1005 会议室",
    "深圳 · 总部 A 座 3F 大会议室",
    "北京 · 望京 T2-1203",
    "上海 · 陆家嘴 28F 洽谈室",
    "腾讯会议",
    "",
)
_TEMPLATES: tuple[tuple[str, ...], ...] = (
    (
        "周例会",
        "产品需求评审：{product}",
        "迭代计划会",
        "版本发布复盘：{product}",
        "季度 OKR 对齐",
        "1:1 沟通",
        "架构评审：{topic}",
    ),
    ("客户拜访：{client}", "商务洽谈：{client}", "合同签署：{client}", "售后回访：{client}"),
    ("面试：{role}（一面）", "面试：{role}（二面）", "面试：{role}（终面）", "招聘需求沟通"),
    ("技术分享：{topic}", "新人入职培训", "安全合规培训", "读书会：《{book}》"),
)
_AGENDA = "议程：\n1. 回顾上周进展\n2. 讨论当前风险与阻塞\n3. 确认下周计划与负责人"

_STATUS_MARK = {
    ResponseStatus.ACCEPTED: "✓",
    ResponseStatus.ACCEPTED_ONCE: "✓¹",
    ResponseStatus.TENTATIVE: "?",
    ResponseStatus.DECLINED: "✗",
    ResponseStatus.PENDING: "·",
}
_REPEAT_NAMES = {
    RepeatType.DAILY: "daily",
    RepeatType.WEEKLY: "weekly",
    RepeatType.MONTHLY: "monthly",
    RepeatType.YEARLY: "yearly",
    RepeatType.WORKDAYS: "every workday",
}
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _users(rng: random.Random, count: int = 300) -> list[str]:
    names: dict[str, None] = {}
    while len(names) < count:
        name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
        n = 2
        while name in names:
            name = f"{rng.choice(_SURNAMES)}{rng.choice(_GIVEN)}{n}"
            n += 1
        names[name] = None
    return list(names)


def _summary(rng: random.Random, calendar: int) -> str:
    return rng.choice(_TEMPLATES[calendar % len(_TEMPLATES)]).format(
        product=rng.choice(_PRODUCTS),
        client=rng.choice(_CLIENTS),
        topic=rng.choice(_TOPICS),
        role=rng.choice(_ROLES),
        book=rng.choice(_BOOKS),
    )


def _reminders(
    rng: random.Random, start: datetime, whole_day: bool, unix_start: int
) -> dict[str, Any]:
    reminders: dict[str, Any] = {"timezone": 8}
    if rng.random() < 0.9:
        diffs = [-172800, 32400] if whole_day else [-300, -900, -3600, -86400]
        reminders["is_remind"] = 1
        reminders["remind_time_diffs"] = sorted(rng.sample(diffs, rng.choice((1, 1, 2))))
    if rng.random() < 0.35:
        reminders["is_repeat"] = 1
        kind = rng.choices(
            (RepeatType.WEEKLY, RepeatType.DAILY, RepeatType.WORKDAYS, RepeatType.MONTHLY),
            weights=(6, 1, 2, 1),
        )[0]
        reminders["repeat_type"] = int(kind)
        if kind == RepeatType.WEEKLY and rng.random() < 0.25:
            # Every other week on the same weekday.
            reminders["is_custom_repeat"] = 1
            reminders["repeat_interval"] = 2
            reminders["repeat_day_of_week"] = [start.isoweekday()]
        if rng.random() < 0.6:
            until = start + timedelta(weeks=rng.randrange(4, 26))
            reminders["repeat_until"] = int(until.replace(hour=23, minute=59).timestamp())
        if kind in (RepeatType.WEEKLY, RepeatType.WORKDAYS) and rng.random() < 0.2:
            skipped = unix_start + 7 * 86400 * rng.randrange(1, 4)
            reminders["exclude_time_list"] = [{"start_time": skipped}]
    return reminders


def demo_dataset(
    count: int, *, cal_ids: tuple[str, ...] = (), seed: int = 7
) -> Iterator[dict[str, Any]]:
    """``count`` realistic schedules in wire form, for :meth:`FakeWeCom.seed_schedules`.

    Workday meetings in Beijing time over 13 weeks from 2026-01-05, 1–8 attendees who answered
    (or not), reminders, ~35% recurring, ~5% whole-day, ~5% cancelled, spread over ``cal_ids``
    (the default calendar when empty). Deterministic for a given ``seed``.
    """
    rng = random.Random(seed)
    users = _users(rng)
    for _ in range(count):
        calendar = rng.randrange(len(cal_ids)) if cal_ids else 0
        day = _FIRST_DAY + timedelta(days=7 * rng.randrange(13) + rng.randrange(5))
        whole_day = rng.random() < 0.05
        if whole_day:
            start, end = day, day + timedelta(days=1) - timedelta(seconds=1)
        else:
            start = day + timedelta(hours=9, minutes=30 * rng.randrange(18))
            end = start + timedelta(minutes=rng.choice((30, 60, 60, 90, 120)))
        unix_start = int(start.timestamp())
        people = rng.sample(users, rng.choice((1, 2, 3, 3, 4, 5, 6, 8)))
        organizer = people[0]
        attendees = [{"userid": organizer, "response_status": int(ResponseStatus.ACCEPTED)}]
        for userid in people[1:]:
            answer = rng.choices(
                (
                    ResponseStatus.PENDING,
                    ResponseStatus.ACCEPTED,
                    ResponseStatus.TENTATIVE,
                    ResponseStatus.DECLINED,
                ),
                weights=(4, 4, 1, 1),
            )[0]
            attendees.append({"userid": userid, "response_status": int(answer)})
        schedule: dict[str, Any] = {
            "summary": _summary(rng, calendar),
            "description": _AGENDA if rng.random() < 0.3 else "",
            "location": rng.choice(_ROOMS),
            "start_time": unix_start,
            "end_time": int(end.timestamp()),
            "is_whole_day": int(whole_day),
            "attendees": attendees,
            "admins": [organizer],
            "reminders": _reminders(rng, start, whole_day, unix_start),
            "status": 1 if rng.random() < 0.05 else 0,
        }
        if cal_ids:
            schedule["cal_id"] = cal_ids[calendar]
        yield schedule


def create_demo_calendars(fake: FakeWeCom) -> dict[str, str]:
    """Create :data:`DEMO_CALENDARS` on the fake; return cal_id → summary (default included)."""
    names = {fake.default_cal_id(): "默认日历"}
    users = _users(random.Random(1), 3)
    for summary, color, description in DEMO_CALENDARS:
        cal_id = fake.store.add_calendar(
            summary=summary, color=color, description=description, admins=users[:1]
        )
        names[cal_id] = summary
    return names


# --- rendering ---------------------------------------------------------------------------------


def _duration(seconds: int) -> str:
    seconds = abs(seconds)
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day" if days == 1 else f"{days} days"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"


def _when(schedule: Schedule) -> str:
    start, end = schedule.start, schedule.end
    weekday = _WEEKDAYS[start.weekday()]
    offset = schedule.reminders.timezone
    if schedule.is_whole_day:
        return f"{start:%Y-%m-%d} ({weekday}), all day"
    end_text = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%Y-%m-%d %H:%M}"
    return f"{start:%Y-%m-%d} ({weekday}) {start:%H:%M}–{end_text} UTC{offset:+d}"


def _repeats(schedule: Schedule) -> str | None:
    rem = schedule.reminders
    if not rem.is_repeat:
        return None
    text = _REPEAT_NAMES.get(rem.repeat_type, f"repeat type {int(rem.repeat_type)}")
    if rem.is_custom_repeat and rem.repeat_interval > 1:
        text = (
            f"every {rem.repeat_interval} weeks"
            if rem.repeat_type == RepeatType.WEEKLY
            else (f"{text}, interval {rem.repeat_interval}")
        )
        if rem.repeat_day_of_week:
            text += " on " + ", ".join(_WEEKDAYS[d - 1] for d in rem.repeat_day_of_week)
    until = rem.repeat_until_dt
    text += f", until {until:%Y-%m-%d}" if until is not None else ", no end date"
    if rem.exclude_time_list:
        skipped = ", ".join(
            f"{e.start.astimezone(rem.tzinfo):%Y-%m-%d}" for e in rem.exclude_time_list
        )
        text += f" (skipped: {skipped})"
    return text


def _reminder_text(schedule: Schedule) -> str:
    rem = schedule.reminders
    if not rem.is_remind:
        return "none"
    parts = []
    for diff in sorted(rem.remind_time_diffs or (-rem.remind_before_event_secs,), key=abs):
        if diff == 0:
            parts.append("at start")
        elif schedule.is_whole_day and diff == 32400:
            parts.append("09:00 that day")
        elif diff < 0:
            parts.append(f"{_duration(diff)} before")
        else:
            parts.append(f"{_duration(diff)} after")
    return ", ".join(parts)


def render_schedule(
    schedule: Schedule, *, calendar_names: Mapping[str, str] | None = None
) -> Panel:
    """A schedule as a readable panel (what a person wants to see, not the wire form)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("ID", schedule.schedule_id)
    if schedule.cal_id:
        name = (calendar_names or {}).get(schedule.cal_id)
        grid.add_row("Calendar", f"{name} ({schedule.cal_id})" if name else schedule.cal_id)
    grid.add_row("When", _when(schedule))
    repeats = _repeats(schedule)
    if repeats:
        grid.add_row("Repeats", repeats)
    grid.add_row("Reminders", _reminder_text(schedule))
    grid.add_row("Where", schedule.location or "—")
    if schedule.admins:
        grid.add_row("Organizer", ", ".join(schedule.admins))
    if schedule.attendees:
        people = ", ".join(
            f"{a.userid} {_STATUS_MARK.get(a.response_status, '·')}" for a in schedule.attendees
        )
        grid.add_row("Attendees", f"{people}  (✓ accepted, ? tentative, ✗ declined, · no answer)")
    if schedule.description:
        grid.add_row("Notes", schedule.description)
    status = Text("cancelled", style="red") if schedule.is_cancelled else Text("confirmed")
    grid.add_row("Status", status)
    return Panel(grid, title=Text(schedule.summary or "(no summary)", style="bold"), expand=False)


def render_calendar(calendar: Calendar) -> Panel:
    """A calendar as a readable panel."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("ID", calendar.cal_id)
    grid.add_row("Colour", Text(f"■ {calendar.color}", style=calendar.color or ""))
    if calendar.description:
        grid.add_row("About", calendar.description)
    if calendar.admins:
        grid.add_row("Admins", ", ".join(calendar.admins))
    if calendar.shares:
        grid.add_row(
            "Shared with",
            ", ".join(f"{s.userid} ({s.permission.name.lower()})" for s in calendar.shares),
        )
    kind = "corp calendar" if calendar.is_corp_calendar else "app calendar"
    grid.add_row("Kind", f"{kind}, {'public' if calendar.is_public else 'not public'}")
    title = Text(calendar.summary or "(no summary)", style="bold")
    return Panel(grid, title=title, expand=False)


# --- the demo ----------------------------------------------------------------------------------


@attrs.frozen
class DemoResult:
    """What the demo did (for tests and for anyone calling :func:`run_demo`)."""

    fetched: int
    cancelled: int
    recurring: int
    missing: tuple[str, ...]
    duplicates: int
    calls: int
    retries: int
    chunks: int
    failed_ids: int
    seconds: float
    #: The kinds of the changes the callbacks step received (empty without the callbacks extra).
    callback_changes: tuple[str, ...] = ()


#: Injected on schedule/get: latency like a real round trip to WeCom, and three failures that
#: the client retries (two "system busy" answers and one HTTP 502 from a gateway).
DEMO_LATENCY = 0.2


async def run_demo(
    *,
    schedules: int = 20_000,
    added: int = 60,
    seed: int = 7,
    latency: float = DEMO_LATENCY,
    console: Console | None = None,
) -> DemoResult:
    """Run the demo, printing to ``console`` (stdout by default)."""
    console = console or Console()
    rng = random.Random(seed)
    console.print(
        Text.assemble(
            ("wecom_async demo", "bold"),
            " — the embedded fake WeCom server, no account or network needed",
        )
    )
    async with FakeWeCom(seed=seed) as fake:
        console.print(f" [green]✓[/] Fake WeCom listening at {fake.base_url} (corp {fake.corp_id})")
        names = create_demo_calendars(fake)
        cal_ids = tuple(c for c in names if c != fake.default_cal_id())
        console.print(
            f" [green]✓[/] {len(cal_ids)} calendars: " + ", ".join(names[c] for c in cal_ids)
        )
        async with WeComClient(
            corp_id=fake.corp_id, corp_secret=fake.corp_secret, base_url=fake.base_url
        ) as client:
            began = time.perf_counter()
            created = await asyncio.gather(
                *(_add_one(client, i, rng, cal_ids) for i in range(added))
            )
            console.print(
                f" [green]✓[/] {len(created)} schedules created with client.schedules.add "
                f"({time.perf_counter() - began:.2f} s, {added} calls)"
            )
            data = list(demo_dataset(schedules, cal_ids=cal_ids, seed=seed))
            seeded = fake.seed_schedules(data)
            console.print(f" [green]✓[/] {len(seeded):,} more stored on the server side")

            ids = [*created, *seeded]
            rng.shuffle(ids)
            duplicates = seeded[: min(100, len(seeded))]
            ids += [*duplicates, "unknown-id-1", "unknown-id-2"]
            rng.shuffle(ids)
            if latency:
                fake.faults.latency(latency, times=None, path="oa/schedule/get")
            fake.faults.errcode(-1, times=2, path="oa/schedule/get")
            fake.faults.http_status(502, times=1, path="oa/schedule/get")
            # One count of IDs everywhere (here, the bar, the summary): the distinct ones.
            console.print(
                f" [cyan]→[/] Bulk-fetching {len(dict.fromkeys(ids)):,} IDs (2 of them unknown) "
                f"from a list of {len(ids):,} with {len(duplicates)} duplicates: 1000 per call, "
                f"{RateLimits().max_concurrency} calls in flight, {latency * 1000:.0f} ms latency "
                "per call, 3 injected failures"
            )
            result = await _bulk_fetch(client, ids, console)
            # The calendars' names, as any app would read them: through the API.
            named = {c.cal_id: c.summary for c in await client.calendars.get(list(names))}
            fake.faults.clear()
            changes = await _callbacks_step(fake, client, created[:2], console)
    _summary_table(console, result, {**names, **named})
    return attrs.evolve(result.outcome, callback_changes=changes)


async def _callbacks_step(
    fake: FakeWeCom, client: WeComClient, ids: list[str], console: Console
) -> tuple[str, ...]:
    """Changes flowing through: the fake's encrypted callbacks → a receiver → the change feed."""
    try:
        from .callbacks import CallbackCrypto, ScheduleChange, ScheduleChangeFeed, callback_app
    except ImportError:  # the callbacks extra (cryptography) is not installed
        console.print(
            " [yellow]•[/] Callbacks step skipped: pip install 'wecom-async\\[callbacks]' to see "
            "WeCom's change events turned into fetched schedules"
        )
        return ()
    from aiohttp import web

    token, aes_key = "demo-token", base64.b64encode(bytes(range(32))).decode().rstrip("=")
    crypto = CallbackCrypto(token=token, encoding_aes_key=aes_key, receive_id=fake.corp_id)
    feed = ScheduleChangeFeed(client, debounce=3600)  # the window is ended below, by flush()
    runner = web.AppRunner(callback_app(crypto, feed.put), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/wecom/callback"
        subscription = fake.subscribe_callbacks(
            url, token=token, encoding_aes_key=aes_key, duplicate=1.0
        )
        for summary in ("周会 moved to 15:00", "周会 moved to 16:00"):
            await client.schedules.patch(ids[0], summary=summary)
        await client.schedules.delete(ids[1])
        await fake.drain_callbacks()
        await runner.cleanup()  # every event received is in the feed now
        feed.flush()
        changes: list[ScheduleChange] = []
        async for change in feed:
            assert isinstance(change, ScheduleChange)
            changes.append(change)
            if len(changes) == len(ids):
                break
    finally:
        await runner.cleanup()
    stats = subscription.stats
    console.print(
        f" [green]✓[/] Callbacks: {stats.events} changes made through the API → {stats.posts} "
        f"encrypted POSTs (each sent twice, as WeCom may) → "
        f"receiver → change feed: {len(changes)} changes fetched with "
        f"{feed.stats.fetch_calls} schedule/get call"
    )
    for change in changes:
        what = change.schedule.summary if change.schedule is not None else ""
        console.print(f"     {change.kind:<8} {change.schedule_id}  {what}")
    return tuple(change.kind for change in sorted(changes, key=lambda c: ids.index(c.schedule_id)))


async def _add_one(
    client: WeComClient, i: int, rng: random.Random, cal_ids: tuple[str, ...]
) -> str:
    start = _FIRST_DAY + timedelta(days=i % 5, hours=10 + i % 7)
    return await client.schedules.add(
        start_time=start,
        end_time=start + timedelta(hours=1),
        summary=f"{_summary(rng, 0)}（接口创建 #{i}）",
        location=rng.choice(_ROOMS),
        attendees=["zhangwei", "liyang", "wangfang"],
        admins=["zhangwei"],
        reminders=Reminders(
            is_remind=True,
            remind_time_diffs=(-900, -3600),
            is_repeat=i % 3 == 0,
            repeat_type=RepeatType.WEEKLY,
        ),
        cal_id=cal_ids[0] if cal_ids else None,
    )


@attrs.frozen
class _Fetched:
    outcome: DemoResult
    by_calendar: Counter[str]
    cancelled_by_calendar: Counter[str]
    by_repeat: Counter[str]
    sample: Schedule | None


async def _bulk_fetch(client: WeComClient, ids: list[str], console: Console) -> _Fetched:
    by_calendar: Counter[str] = Counter()
    cancelled_by_calendar: Counter[str] = Counter()
    by_repeat: Counter[str] = Counter()
    sample: Schedule | None = None
    fetched = cancelled = recurring = 0
    stream = client.schedules.iter_many(ids, ordered=False, on_error="collect")
    # Fits 80 columns: the bar takes the width the texts leave, and they never wrap.
    progress = Progress(
        SpinnerColumn(table_column=Column(no_wrap=True)),
        TextColumn("Fetching", table_column=Column(no_wrap=True)),
        BarColumn(bar_width=None),
        TextColumn(
            "{task.completed:,.0f}/{task.total:,.0f} IDs", table_column=Column(no_wrap=True)
        ),
        TaskProgressColumn(table_column=Column(no_wrap=True)),
        TimeElapsedColumn(table_column=Column(no_wrap=True)),
        TextColumn(
            "{task.fields[calls]} calls, {task.fields[retries]} retries",
            table_column=Column(no_wrap=True),
        ),
        console=console,
        expand=True,
    )
    distinct = len(dict.fromkeys(ids))
    began = time.perf_counter()
    with progress:
        task = progress.add_task("fetch", total=distinct, calls=0, retries=0)
        async for chunk in stream.chunks():
            for schedule in chunk.schedules:
                fetched += 1
                by_calendar[schedule.cal_id] += 1
                if schedule.is_cancelled:
                    cancelled += 1
                    cancelled_by_calendar[schedule.cal_id] += 1
                if schedule.reminders.is_repeat:
                    recurring += 1
                    by_repeat[_REPEAT_NAMES.get(schedule.reminders.repeat_type, "other")] += 1
                if _good_sample(schedule) and (
                    sample is None or schedule.schedule_id < sample.schedule_id
                ):
                    sample = schedule  # the same one whatever order chunks arrive in
            now = stream.progress()
            progress.update(task, completed=now.ids_done, calls=now.calls, retries=now.retries)
    elapsed = time.perf_counter() - began
    final = stream.progress()
    outcome = DemoResult(
        fetched=fetched,
        cancelled=cancelled,
        recurring=recurring,
        missing=tuple(sorted(stream.missing)),
        duplicates=final.duplicates,
        calls=final.calls,
        retries=final.retries,
        chunks=final.chunks_done,
        failed_ids=final.failed_ids,
        seconds=elapsed,
    )
    return _Fetched(outcome, by_calendar, cancelled_by_calendar, by_repeat, sample)


def _good_sample(schedule: Schedule) -> bool:
    """A schedule that shows a lot: recurring, several attendees who answered differently."""
    rem = schedule.reminders
    answers = {a.response_status for a in schedule.attendees}
    return (
        bool(rem.is_repeat)
        and rem.repeat_until > 0
        and len(rem.remind_time_diffs) == 2
        and len(answers) >= 3
        and bool(schedule.location)
        and not schedule.is_cancelled
    )


def _summary_table(console: Console, result: _Fetched, names: Mapping[str, str]) -> None:
    r = result.outcome
    rate = r.fetched / r.seconds if r.seconds > 0 else 0.0
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("Schedules fetched", f"{r.fetched:,} in {r.seconds:.2f} s ({rate:,.0f}/s)")
    table.add_row(
        "schedule/get calls",
        f"{r.calls} for {r.chunks} chunks of ≤1000 IDs ({r.retries} retries)",
    )
    table.add_row("Cancelled", f"{r.cancelled:,} (status 1: still returned by schedule/get)")
    repeats = ", ".join(f"{name} {n:,}" for name, n in result.by_repeat.most_common())
    table.add_row("Recurring", f"{r.recurring:,} ({repeats})" if repeats else "0")
    table.add_row("Duplicates dropped", f"{r.duplicates:,} (each ID is fetched once)")
    table.add_row("Missing", ", ".join(r.missing) if r.missing else "none")
    if r.failed_ids:
        table.add_row("Failed", f"{r.failed_ids:,} IDs after retries")

    calendars = Table(title="By calendar", title_justify="left", show_edge=False)
    calendars.add_column("Calendar")
    calendars.add_column("Schedules", justify="right")
    calendars.add_column("Cancelled", justify="right")
    for cal_id, count in result.by_calendar.most_common():
        calendars.add_row(
            names.get(cal_id, cal_id), f"{count:,}", f"{result.cancelled_by_calendar[cal_id]:,}"
        )
    parts: list[Any] = [Text(""), Text("Summary", style="bold underline"), table, Text("")]
    parts.append(calendars)
    if result.sample is not None:
        parts += [Text(""), Text("A sample schedule", style="bold underline")]
        parts.append(render_schedule(result.sample, calendar_names=names))
    parts += [
        Text(""),
        Text("Next, the command line on the same fake server, in two terminals:", style="bold"),
        Text("  # 1. serve it (it prints WECOM_* settings; Ctrl-C stops it)", style="dim"),
        Text("  wecom-async fake-server --schedules 10000 --ids-out ids.txt", style="cyan"),
        Text(
            "  # 2. set those variables, then fetch (Ctrl-C it, then rerun with --resume)",
            style="dim",
        ),
        Text("  export WECOM_BASE_URL=… WECOM_CORP_ID=… WECOM_CORP_SECRET=…", style="cyan"),
        Text("  wecom-async schedules fetch --ids ids.txt --out schedules.jsonl", style="cyan"),
    ]
    console.print(Group(*parts))
