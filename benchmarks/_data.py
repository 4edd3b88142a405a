"""Deterministic benchmark data: schedules as WeCom's ``oa/schedule/get`` answers them.

Two profiles, both drawn from a fixed seed so every run (and every machine) sees the same bytes:

* **light**: 1–6 attendees, about 760 bytes of JSON per schedule;
* **heavy**: 5–50 attendees, about 1.8 KB per schedule.

Text is realistic Chinese office text (meeting titles, agendas, meeting-room addresses) with
pinyin user IDs; 40 % of the schedules are recurring with every repeat field filled in
(``repeat_type``, ``repeat_until``, a custom interval, days of week and month, excluded
occurrences); the others carry WeCom's defaults. Every schedule is in the full wire form WeCom
answers (all fields present, 0/1 flags as ints).

:func:`schedule_for_id` maps a schedule ID to a schedule without storing anything: the fake
server of the large runs serves any ID from a fixed pool of pre-encoded templates picked by the
ID, with the ID spliced in (see :class:`ScheduleSource`).
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from typing import Any, Final, Literal

import orjson

from wecom_async.models import (
    AddScheduleRequest,
    Attendee,
    Reminders,
    RepeatType,
    ScheduleInput,
)

__all__ = [
    "PROFILES",
    "Profile",
    "ScheduleSource",
    "add_kwargs",
    "add_request",
    "get_body",
    "make_schedule",
    "make_schedules",
    "schedule_id",
    "schedule_ids",
]

Profile = Literal["light", "heavy"]
PROFILES: Final[tuple[Profile, ...]] = ("light", "heavy")

#: The seed of everything generated here.
SEED: Final = 20261121
#: Share of recurring schedules.
RECURRING_SHARE: Final = 0.40
_ATTENDEES: Final[dict[Profile, tuple[int, int]]] = {"light": (1, 6), "heavy": (5, 50)}
_BASE_TIME: Final = 1_767_225_600  # 2026-01-01 08:00 +08:00

_SURNAMES = (
    "zhang",
    "wang",
    "li",
    "liu",
    "chen",
    "yang",
    "huang",
    "zhao",
    "wu",
    "zhou",
    "xu",
    "sun",
    "ma",
    "zhu",
    "hu",
    "guo",
    "he",
    "gao",
    "lin",
    "luo",
    "zheng",
    "liang",
    "xie",
    "song",
    "tang",
    "han",
    "feng",
    "deng",
    "cao",
    "peng",
    "zeng",
    "xiao",
    "tian",
    "dong",
    "yuan",
    "pan",
    "jiang",
)
_GIVEN = (
    "wei",
    "fang",
    "na",
    "min",
    "jing",
    "li",
    "qiang",
    "lei",
    "jun",
    "yang",
    "yong",
    "yan",
    "jie",
    "tao",
    "ming",
    "chao",
    "xiuying",
    "hua",
    "ping",
    "gang",
    "gui",
    "hong",
    "xia",
    "dan",
    "hao",
    "yu",
    "xin",
    "ting",
    "yuxuan",
    "zihan",
    "haoran",
    "yichen",
    "siyu",
    "jiahui",
)
_DEPARTMENTS = (
    "研发中心",
    "产品部",
    "市场部",
    "华南大区",
    "财务共享中心",
    "人力资源部",
    "客户成功部",
    "供应链管理部",
    "法务合规部",
    "数据平台组",
)
_MEETINGS = (
    "周例会",
    "需求评审会",
    "迭代计划会",
    "项目启动会",
    "季度经营分析会",
    "技术方案评审",
    "客户拜访",
    "1:1 沟通",
    "年度预算复盘",
    "新员工入职培训",
    "跨部门协调会",
    "版本发布复盘",
    "招聘面试（二面）",
    "供应商谈判",
)
_PROJECTS = (
    "",
    "",
    "",
    "「星火计划」",
    "【紧急】",
    "Q3 ",
    "V2.4 ",
    "智慧门店项目 ",
    "【线上】",
    "海外业务 ",
)
_SENTENCES = (
    "请提前阅读附件中的需求文档，并准备好问题。",
    "会议议程：1. 上周进展回顾；2. 本周重点任务；3. 风险与求助。",
    "腾讯会议号：482 391 775，会议密码 8866，请准时入会。",
    "本次会议将讨论下季度的资源分配和人员安排，请各负责人带上数据。",
    "如无法参加，请在日程中点击“拒绝”并说明原因，方便会务安排。",
    "会后请在企业微信群内同步纪要，行动项负责人需在周五前反馈进度。",
    "客户方参会人：采购总监、IT 负责人，我方需准备演示环境和报价单。",
    "请各位带好笔记本电脑，现场会进行系统演示和联调。",
    "本周五之前需完成测试用例评审，遗留缺陷请在看板上标注优先级。",
    "地点有变动的话会另行通知，停车场入口在大厦东侧。",
)
_LOCATIONS = (
    "",
    "",
    "",
    "",
    "",
    "",
    "线上（腾讯会议）",
    "线上（腾讯会议）",
    "深圳市南山区科技园科兴科学园 B 栋 12 楼 1203 会议室",
    "北京市海淀区中关村软件园二期 7 号楼 3 层 A301",
    "上海市浦东新区张江高科技园区博云路 2 号 5 楼 大会议室",
    "广州国际媒体港 10 楼 1005 会议室",
    "杭州市西湖区文三路 478 号 华星时代广场 8F 「西湖厅」",
    "成都高新区天府软件园 E3 栋 2 楼 培训室",
)
_REPEAT_TYPES = (0, 1, 2, 5, 7)
_REMIND_SECS = (0, 300, 900, 3600, 86400)
_REMIND_DIFFS = (0, -300, -900, -3600, -86400)
_ALNUM = string.ascii_letters + string.digits
_MASK128 = (1 << 128) - 1


def schedule_id(index: int) -> str:
    """The *index*-th benchmark schedule ID: 32 lowercase hex digits, scattered like real ones."""
    x = ((index + 1) * 0x9E3779B97F4A7C15F39CC0605CEDC835) & _MASK128  # odd: a bijection
    x ^= x >> 67
    x = (x * 0xD6E8FEB86659FD93C2B5A8F8E3F4A1B7) & _MASK128
    return f"{x:032x}"


def schedule_ids(count: int, *, start: int = 0) -> Iterator[str]:
    """*count* distinct schedule IDs (lazily: a million of them cost no memory up front)."""
    return (schedule_id(i) for i in range(start, start + count))


def _userid(rng: random.Random) -> str:
    name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
    roll = rng.random()
    if roll < 0.2:
        return f"{name}{rng.randrange(1, 100):02d}"
    if roll < 0.3:
        return name.capitalize()
    return name


def _cal_id(rng: random.Random) -> str:
    return "wc" + "".join(rng.choice(_ALNUM) for _ in range(30))


def _reminders(rng: random.Random, start: int, recurring: bool) -> dict[str, Any]:
    is_remind = rng.random() < 0.8
    diffs = rng.sample(_REMIND_DIFFS, rng.choice((0, 1, 1, 2))) if is_remind else []
    reminders: dict[str, Any] = {
        "is_remind": int(is_remind),
        "is_repeat": 0,
        "remind_before_event_secs": rng.choice(_REMIND_SECS) if is_remind else 0,
        "remind_time_diffs": diffs,
        "repeat_type": 0,
        "repeat_until": 0,
        "is_custom_repeat": 0,
        "repeat_interval": 0,
        "repeat_day_of_week": [],
        "repeat_day_of_month": [],
        "timezone": 8 if rng.random() < 0.95 else rng.randrange(-12, 13),
        "exclude_time_list": [],
    }
    if recurring:
        reminders.update(
            is_repeat=1,
            repeat_type=rng.choice(_REPEAT_TYPES),
            repeat_until=start + rng.randrange(30, 365) * 86_400,
            is_custom_repeat=1,
            repeat_interval=rng.randrange(1, 5),
            repeat_day_of_week=sorted(rng.sample(range(1, 8), rng.randrange(1, 4))),
            repeat_day_of_month=sorted(rng.sample(range(1, 32), rng.randrange(1, 3))),
            exclude_time_list=[
                {"start_time": start + k * 7 * 86_400} for k in range(1, rng.randrange(2, 4))
            ],
        )
    return reminders


def make_schedule(rng: random.Random, profile: Profile, sid: str) -> dict[str, Any]:
    """One schedule in WeCom's full wire form, drawn from *rng*."""
    low, high = _ATTENDEES[profile]
    userids = list(dict.fromkeys(_userid(rng) for _ in range(rng.randint(low, high))))
    attendees = [
        {"userid": u, "response_status": rng.choices((0, 1, 2, 3, 4), (3, 1, 5, 1, 1))[0]}
        for u in userids
    ]
    admins = userids[: rng.choice((0, 1, 1, 2, 3))]
    start = _BASE_TIME + rng.randrange(0, 180) * 86_400 + rng.randrange(0, 20) * 1800
    whole_day = rng.random() < 0.1
    end = start + (86_400 if whole_day else rng.choice((1800, 3600, 5400, 7200)))
    recurring = rng.random() < RECURRING_SHARE
    title = f"{rng.choice(_PROJECTS)}{rng.choice(_DEPARTMENTS)}{rng.choice(_MEETINGS)}"
    description = "".join(rng.sample(_SENTENCES, rng.choice((0, 0, 0, 1, 1))))
    return {
        "schedule_id": sid,
        "admins": admins,
        "attendees": attendees,
        "summary": title,
        "description": description,
        "reminders": _reminders(rng, start, recurring),
        "location": rng.choice(_LOCATIONS),
        "cal_id": _cal_id(rng),
        "start_time": start,
        "end_time": end,
        "status": int(rng.random() < 0.05),
        "is_whole_day": int(whole_day),
    }


def make_schedules(count: int, profile: Profile, *, seed: int = SEED) -> list[dict[str, Any]]:
    """*count* schedules of *profile*, the same for the same seed."""
    rng = random.Random(f"{seed}:{profile}")
    return [make_schedule(rng, profile, schedule_id(i)) for i in range(count)]


def get_body(count: int, profile: Profile, *, seed: int = SEED) -> bytes:
    """A schedule/get answer with *count* schedules, as WeCom sends it."""
    return orjson.dumps(
        {"errcode": 0, "errmsg": "ok", "schedule_list": make_schedules(count, profile, seed=seed)}
    )


def add_kwargs(schedule: dict[str, Any], *, cal_id: str | None = None) -> dict[str, Any]:
    """Keyword arguments of ``client.schedules.add`` that create *schedule* (in *cal_id*).

    Everything a user sets is set (the request leaves out only what is at WeCom's defaults).
    """
    rem = schedule["reminders"]
    reminders = Reminders(
        is_remind=bool(rem["is_remind"]),
        remind_before_event_secs=rem["remind_before_event_secs"],
        remind_time_diffs=tuple(rem["remind_time_diffs"]),
        is_repeat=bool(rem["is_repeat"]),
        repeat_type=RepeatType(rem["repeat_type"]),
        repeat_until=rem["repeat_until"],
        is_custom_repeat=bool(rem["is_custom_repeat"]),
        repeat_interval=rem["repeat_interval"],
        repeat_day_of_week=tuple(rem["repeat_day_of_week"]),
        repeat_day_of_month=tuple(rem["repeat_day_of_month"]),
        timezone=rem["timezone"],
    )
    return {
        "start_time": schedule["start_time"],
        "end_time": schedule["end_time"],
        "summary": schedule["summary"],
        "description": schedule["description"] or None,
        "location": schedule["location"] or None,
        "attendees": [a["userid"] for a in schedule["attendees"]],
        "admins": list(schedule["admins"]) or None,
        "reminders": reminders,
        "cal_id": schedule["cal_id"] if cal_id is None else cal_id,
        "is_whole_day": bool(schedule["is_whole_day"]),
    }


def add_request(schedule: dict[str, Any], *, cal_id: str | None = None) -> AddScheduleRequest:
    """The request model ``client.schedules.add(**add_kwargs(schedule))`` sends."""
    kw = add_kwargs(schedule, cal_id=cal_id)
    return AddScheduleRequest(
        schedule=ScheduleInput(
            start_time=kw["start_time"],
            end_time=kw["end_time"],
            admins=None if kw["admins"] is None else tuple(kw["admins"]),
            attendees=tuple(Attendee(u) for u in kw["attendees"]),
            summary=kw["summary"],
            description=kw["description"],
            reminders=kw["reminders"],
            location=kw["location"],
            cal_id=kw["cal_id"],
            is_whole_day=kw["is_whole_day"],
        )
    )


class ScheduleSource:
    """Schedules for any ID without stored data: a pool of pre-encoded templates picked by ID.

    The template of an ID is chosen by its last two characters (256 templates, one per pair of
    hex digits); the ID is spliced in front. :meth:`encode_list` returns the JSON array of the
    schedules of a list of IDs at ~0.3 µs per ID, so a server answering a million IDs stays
    far faster than the clients decoding them.
    """

    POOL: Final = 256

    def __init__(self, profile: Profile, *, seed: int = SEED) -> None:
        schedules = make_schedules(self.POOL, profile, seed=seed)
        self.profile = profile
        # Each template is the schedule's JSON after its schedule_id: b'",' + b'"admins":…}'.
        self._tails = {
            f"{index:02x}": b'",'
            + orjson.dumps({k: v for k, v in s.items() if k != "schedule_id"})[1:]
            for index, s in enumerate(schedules)
        }
        self._templates = list(self._tails.values())

    def _tail(self, sid: str) -> bytes:
        tail = self._tails.get(sid[-2:])
        if tail is None:  # not hex: any deterministic choice will do
            tail = self._templates[sum(sid.encode()) % self.POOL]
        return tail

    def encode_one(self, sid: str) -> bytes:
        return b'{"schedule_id":' + orjson.dumps(sid)[:-1] + self._tail(sid)

    def encode_list(self, ids: list[str]) -> bytes:
        tails = self._tails
        try:
            if not "".join(ids).isalnum():
                raise KeyError  # something to escape: take the careful path
            parts = [b'{"schedule_id":"' + sid.encode() + tails[sid[-2:]] for sid in ids]
        except KeyError:
            parts = [self.encode_one(sid) for sid in ids]
        return b"[" + b",".join(parts) + b"]"

    def schedule(self, sid: str) -> dict[str, Any]:
        """The schedule of *sid* as parsed JSON (what ``encode_one`` encodes)."""
        result: dict[str, Any] = orjson.loads(self.encode_one(sid))
        return result
