"""Fault injection: scripted faults for the next N calls, and seeded random faults for soak tests.

Scripted faults (:class:`Faults`) apply to the next *times* calls matching *path* (an API path such
as ``"oa/schedule/get"``; ``None`` matches every API call **except** ``gettoken``, so that a
client's token fetch does not eat the fault meant for the call under test; pass
``path="gettoken"`` to hit it). ``times=None`` keeps the fault until :meth:`Faults.clear`.

The kinds, in the order a call meets them:

1. ``latency(seconds)``: wait before handling.
2. One "instead of handling" fault, the first that matches in this priority: ``drop()`` (close
   the connection without an answer), ``http_status(502)`` (an HTML error page, like a gateway),
   ``errcode(-1)`` (a JSON answer with that errcode). The call then has no effect: no token check,
   no quota count, no handler.
3. Otherwise the call is handled normally (it takes effect: a schedule is stored, a quota counted).
4. ``latency(seconds, after=True)``: wait after handling, before answering.
5. ``drop(after=True)``: close the connection instead of sending the (computed) answer.

One call consumes at most one scripted fault of each of the kinds 1, 2, 4, 5 (the oldest
matching one). Faults are consumed when the call arrives, so an after-fault applies whatever the
answer is (an error answer such as 42001 too), except when a kind-2 fault answered the call: then
the scripted after-faults are left for a later call.

A :class:`FaultProfile` draws random faults for every matching call from its own
``random.Random(seed)``: the sequence of draws is deterministic, though which concurrent call gets
which draw depends on arrival order. Scripted faults win over random ones of the same kind.
"""

from __future__ import annotations

import random as _random
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Literal

__all__ = ["FaultPlan", "FaultProfile", "Faults", "html_error_page", "normalize_path"]

GETTOKEN = "gettoken"

_Kind = Literal["latency", "latency_after", "drop", "drop_after", "http_status", "errcode"]


def normalize_path(path: str) -> str:
    """``"/cgi-bin/oa/schedule/add"``, ``"cgi-bin/oa/schedule/add"`` → ``"oa/schedule/add"``."""
    path = path.strip("/")
    if path.startswith("cgi-bin/"):
        path = path[len("cgi-bin/") :]
    return path


def html_error_page(status: int) -> str:
    """A small nginx-like HTML error page."""
    try:
        title = f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        title = str(status)
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultProfile:
    """Rates (0..1, per matching call) of random faults, for soak tests.

    The "instead of handling" faults are exclusive: their rates must add up to at most 1 and one
    draw picks at most one of them. ``slow_rate`` (wait ``slow_seconds`` before handling) and
    ``late_rate`` (wait ``slow_seconds`` after handling) are exclusive too. With
    ``token_invalidation_rate`` the caller's corp token is invalidated as the call arrives (that
    call and the others using the token answer 40014, as when WeCom revokes a token early).

    *paths*: the API paths affected; ``None`` = every API call except ``gettoken``.
    """

    seed: int = 0
    busy_rate: float = 0.0
    http_502_rate: float = 0.0
    http_503_rate: float = 0.0
    drop_rate: float = 0.0
    drop_after_rate: float = 0.0
    slow_rate: float = 0.0
    late_rate: float = 0.0
    slow_seconds: float = 1.0
    token_invalidation_rate: float = 0.0
    paths: Collection[str] | None = None

    def __post_init__(self) -> None:
        rates = (
            self.busy_rate,
            self.http_502_rate,
            self.http_503_rate,
            self.drop_rate,
            self.drop_after_rate,
            self.slow_rate,
            self.late_rate,
            self.token_invalidation_rate,
        )
        if any(not 0.0 <= r <= 1.0 for r in rates):
            raise ValueError("fault rates must be between 0 and 1")
        exclusive = (
            self.busy_rate
            + self.http_502_rate
            + self.http_503_rate
            + self.drop_rate
            + self.drop_after_rate
        )
        if exclusive > 1.0 or self.slow_rate + self.late_rate > 1.0:
            raise ValueError("exclusive fault rates add up to more than 1")
        if self.slow_seconds < 0:
            raise ValueError("slow_seconds must not be negative")


@dataclass(slots=True)
class FaultPlan:
    """What happens to one call (computed when it arrives)."""

    latency_before: float = 0.0
    latency_after: float = 0.0
    drop_before: bool = False
    drop_after: bool = False
    http_status: int | None = None
    http_body: str | None = None
    errcode: int | None = None
    errmsg: str | None = None
    invalidate_tokens: bool = False
    labels: list[str] = field(default_factory=list)

    @property
    def short_circuits(self) -> bool:
        """Whether the call is answered without being handled."""
        return self.drop_before or self.http_status is not None or self.errcode is not None


@dataclass(slots=True)
class _Rule:
    kind: _Kind
    remaining: int | None
    path: str | None
    seconds: float = 0.0
    status: int = 0
    body: str | None = None
    errcode: int = 0
    errmsg: str | None = None

    def matches(self, path: str) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.path is None:
            return path != GETTOKEN
        return self.path == path


class Faults:
    """Scripted and random faults of one :class:`~wecom_async.testing.FakeWeCom` (``fake.faults``).

    Every method adds a fault for the next *times* matching calls (``None`` = until cleared).
    """

    def __init__(self, profile: FaultProfile | None = None) -> None:
        self._rules: list[_Rule] = []
        self._profile: FaultProfile | None = None
        self._rng = _random.Random(0)
        self._profile_paths: frozenset[str] | None = None
        #: How many times each fault fired, by label (``"errcode:-1"``, ``"http:502"``, ``"drop"``,
        #: ``"drop_after"``, ``"latency"``, ``"latency_after"``, ``"invalidate_tokens"``).
        self.fired: Counter[str] = Counter()
        self.set_profile(profile)

    # --- scripting ------------------------------------------------------------------------

    def errcode(
        self,
        errcode: int,
        errmsg: str | None = None,
        *,
        times: int | None = 1,
        path: str | None = None,
    ) -> None:
        """Answer ``{"errcode": errcode, "errmsg": …}`` instead of handling the call.

        Without *errmsg* the usual one (with hint) is built; with it, it is answered verbatim.
        """
        self._add(_Rule("errcode", times, _path(path), errcode=errcode, errmsg=errmsg))

    def latency(
        self, seconds: float, *, times: int | None = 1, path: str | None = None, after: bool = False
    ) -> None:
        """Wait *seconds* before handling the call, or (``after=True``) after handling it.

        With ``after=True`` the call takes effect on time but its answer is late: the case where a
        client's read timeout must not lead to a duplicate creation.
        """
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        self._add(_Rule("latency_after" if after else "latency", times, _path(path), seconds))

    def http_status(
        self,
        status: int = 502,
        *,
        times: int | None = 1,
        path: str | None = None,
        body: str | None = None,
    ) -> None:
        """Answer HTTP *status* with a small HTML page (or *body*) instead of handling the call."""
        if not 100 <= status <= 599 or status == 200:
            raise ValueError("status must be an HTTP status other than 200")
        self._add(_Rule("http_status", times, _path(path), status=status, body=body))

    def drop(self, *, times: int | None = 1, path: str | None = None, after: bool = False) -> None:
        """Close the connection without answering, before handling the call or after it."""
        self._add(_Rule("drop_after" if after else "drop", times, _path(path)))

    def set_profile(self, profile: FaultProfile | None) -> None:
        """Start drawing random faults from *profile* (reseeded), or stop with ``None``."""
        self._profile = profile
        if profile is not None:
            self._rng = _random.Random(profile.seed)
            paths = profile.paths
            self._profile_paths = None if paths is None else frozenset(map(normalize_path, paths))

    @property
    def profile(self) -> FaultProfile | None:
        return self._profile

    def clear(self) -> None:
        """Remove every scripted fault and the random profile."""
        self._rules.clear()
        self._profile = None

    @property
    def pending(self) -> int:
        """How many scripted faults can still fire (``times=None`` ones count once)."""
        return sum(
            1 if r.remaining is None else r.remaining
            for r in self._rules
            if r.remaining is None or r.remaining > 0
        )

    def _add(self, rule: _Rule) -> None:
        if rule.remaining is not None and rule.remaining < 0:
            raise ValueError("times must not be negative")
        self._rules.append(rule)

    # --- planning (server side) -----------------------------------------------------------

    def plan(self, path: str) -> FaultPlan:
        """Decide (and consume) the faults of a call to *path* arriving now."""
        plan = FaultPlan()
        if self._profile is not None and self._profile_matches(path):
            self._draw(self._profile, plan)
        if self._rules:
            self._apply_rules(path, plan)
            self._rules = [r for r in self._rules if r.remaining is None or r.remaining > 0]
        for label in plan.labels:
            self.fired[label] += 1
        return plan

    def _profile_matches(self, path: str) -> bool:
        if self._profile_paths is None:
            return path != GETTOKEN
        return path in self._profile_paths

    def _take(self, kind: _Kind, path: str) -> _Rule | None:
        for rule in self._rules:
            if rule.kind == kind and rule.matches(path):
                if rule.remaining is not None:
                    rule.remaining -= 1
                return rule
        return None

    def _apply_rules(self, path: str, plan: FaultPlan) -> None:
        rule = self._take("latency", path)
        if rule is not None:
            plan.latency_before = rule.seconds
            _label(plan, "latency")
        short_circuit_kinds: tuple[_Kind, ...] = ("drop", "http_status", "errcode")
        for kind in short_circuit_kinds:
            rule = self._take(kind, path)
            if rule is not None:
                _clear_short_circuit(plan)
                if kind == "drop":
                    plan.drop_before = True
                    plan.labels.append("drop")
                elif kind == "http_status":
                    plan.http_status, plan.http_body = rule.status, rule.body
                    plan.labels.append(f"http:{rule.status}")
                else:
                    plan.errcode, plan.errmsg = rule.errcode, rule.errmsg
                    plan.labels.append(f"errcode:{rule.errcode}")
                break
        if plan.short_circuits:
            # The call is not handled: after-faults stay for a later call.
            if plan.drop_after:
                plan.drop_after = False
                plan.labels.remove("drop_after")
            return
        rule = self._take("latency_after", path)
        if rule is not None:
            plan.latency_after = rule.seconds
            _label(plan, "latency_after")
        if self._take("drop_after", path) is not None and not plan.drop_after:
            plan.drop_after = True
            plan.labels.append("drop_after")

    def _draw(self, profile: FaultProfile, plan: FaultPlan) -> None:
        rng = self._rng
        r_fault, r_slow, r_token = rng.random(), rng.random(), rng.random()
        if r_token < profile.token_invalidation_rate:
            plan.invalidate_tokens = True
            plan.labels.append("invalidate_tokens")
        if r_slow < profile.slow_rate:
            plan.latency_before = profile.slow_seconds
            plan.labels.append("latency")
        elif r_slow < profile.slow_rate + profile.late_rate:
            plan.latency_after = profile.slow_seconds
            plan.labels.append("latency_after")
        threshold = 0.0
        for rate, label in (
            (profile.busy_rate, "errcode:-1"),
            (profile.http_502_rate, "http:502"),
            (profile.http_503_rate, "http:503"),
            (profile.drop_rate, "drop"),
            (profile.drop_after_rate, "drop_after"),
        ):
            threshold += rate
            if r_fault < threshold:
                if label == "errcode:-1":
                    plan.errcode = -1
                elif label.startswith("http:"):
                    plan.http_status = int(label[5:])
                elif label == "drop":
                    plan.drop_before = True
                else:
                    plan.drop_after = True
                plan.labels.append(label)
                break


def _path(path: str | None) -> str | None:
    return None if path is None else normalize_path(path)


def _label(plan: FaultPlan, label: str) -> None:
    if label not in plan.labels:
        plan.labels.append(label)


def _clear_short_circuit(plan: FaultPlan) -> None:
    """A scripted short-circuit fault replaces a random one."""
    for label in list(plan.labels):
        if label == "drop" or label.startswith(("http:", "errcode:")):
            plan.labels.remove(label)
    plan.drop_before = False
    plan.http_status = plan.http_body = None
    plan.errcode = plan.errmsg = None
