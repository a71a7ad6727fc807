"""The stand-ins' shared rate limiter: windows, keys, the switch, what it reports (sandbox.limits)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import pytest

from sandbox.base import Handler, SandboxApp, SandboxRequest, SandboxResponse
from sandbox.limits import (
    InvalidLimitsSetting,
    Limiter,
    RateLimit,
    describe,
    limits_enabled,
    report,
)
from sandbox.registry import create_sandboxes


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def request(token: str | None = "t1", path: str = "/things") -> SandboxRequest:  # noqa: S107
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return SandboxRequest("GET", path, headers=headers)


class Things(SandboxApp):
    """A stand-in with one limit, 3 per 10 s per token, that takes any token."""

    name: ClassVar[str] = "things"
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (RateLimit("three", 3, 10.0),)

    def routes(self) -> Iterable[tuple[str, str, Handler]]:
        return (("GET", "/things", lambda req, _: SandboxResponse.json({"things": []})),)


def test_a_rolling_window_lets_a_request_through_once_the_oldest_has_left_it() -> None:
    clock = Clock()
    limiter = Limiter([RateLimit("three", 3, 10.0)], clock, enforce=True)
    for _ in range(3):
        assert limiter.admit(request())[1] is None
        clock.now += 2.0
    _, refused = limiter.admit(request())
    assert refused is not None
    assert (refused.used, refused.remaining, refused.reset_s, refused.retry_after_s) == (3, 0, 4.0, 4)
    clock.now += 4.0  # the first request is now 10 s old
    assert limiter.admit(request())[1] is None


def test_a_time_compressed_run_holds_the_limit_per_simulated_second() -> None:
    """Compressed 2x here (a three-day outage in four minutes is 1,080x): "3 per 10 s" holds per
    10 simulated seconds, 5 s of wall time, and the wait it tells is in simulated seconds, as the
    runtime's back-offs are (the runtime scales a Retry-After to wall time)."""
    clock = Clock(1000.0)
    limiter = Limiter([RateLimit("three", 3, 10.0)], clock, enforce=True)
    limiter.time_scale = 0.5
    for _ in range(3):
        assert limiter.admit(request())[1] is None
        clock.now += 1.0  # 2 simulated seconds
    _, refused = limiter.admit(request())
    assert refused is not None and refused.retry_after_s == 4  # simulated seconds: 2 s of wall time
    clock.now += 2.0
    assert limiter.admit(request())[1] is None


def test_a_fixed_window_starts_again_at_its_boundary() -> None:
    clock = Clock(now=120.0 + 59.0)
    limiter = Limiter([RateLimit("minute", 2, 60.0, window="fixed")], clock, enforce=True)
    hits, _ = limiter.admit(request())
    assert hits[0].reset_s == 1.0
    limiter.admit(request())
    assert limiter.admit(request())[1] is not None
    clock.now = 180.0
    assert limiter.admit(request())[1] is None


def test_each_token_has_its_own_count_and_a_request_without_one_is_not_counted() -> None:
    limiter = Limiter([RateLimit("three", 3, 10.0)], Clock(), enforce=True)
    for _ in range(3):
        limiter.admit(request("t1"))
    assert limiter.admit(request("t1"))[1] is not None
    assert limiter.admit(request("t2"))[1] is None
    assert limiter.admit(request(None)) == ([], None)


def test_a_limit_on_a_path_counts_only_that_path() -> None:
    limiter = Limiter([RateLimit("posts", 1, 10.0, path="/post")], Clock(), enforce=True)
    limiter.admit(request(path="/post"))
    assert limiter.admit(request(path="/read"))[1] is None
    assert limiter.admit(request(path="/post"))[1] is not None


def test_lifted_requests_are_counted_but_never_refused() -> None:
    limiter = Limiter([RateLimit("three", 3, 10.0)], Clock(), enforce=False)
    results = [limiter.admit(request()) for _ in range(5)]
    assert all(refused is None for _, refused in results)
    assert results[-1][0][0].used == 5 and limiter.counted == {"three": 5}


def test_a_stand_in_answers_429_past_its_limit_per_token_and_serves_nothing() -> None:
    app = Things(clock=Clock())
    statuses = [app.handle(request("t1")).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert app.handle(request("t2")).status == 200
    state = app.handle(SandboxRequest("GET", "/_limits")).parsed()
    assert state["enforce"] is True
    assert state["limits"][0] | {"source": ""} == {
        "name": "three",
        "requests": 3,
        "per_s": 10.0,
        "per_second": 0.3,
        "scope": "token",
        "window": "rolling",
        "path": None,
        "method": None,
        "source": "",
        "counted": 4,
        "refused": 1,
    }


def test_faults_are_served_first_and_count_against_no_limit() -> None:
    app = Things(clock=Clock())
    fault = b'{"kind": "status", "status": 503, "count": 5}'
    app.handle(SandboxRequest("POST", "/_faults", body=fault))
    assert {app.handle(request()).status for _ in range(5)} == {503}
    assert app.handle(request()).status == 200


def test_reset_clears_the_counts_but_keeps_the_switch() -> None:
    app = Things(clock=Clock(), limits=False)
    for _ in range(5):
        app.handle(request())
    app.handle(SandboxRequest("POST", "/_reset"))
    state = app.handle(SandboxRequest("GET", "/_limits")).parsed()
    assert state["enforce"] is False and state["limits"][0]["counted"] == 0


@pytest.mark.parametrize(("value", "enabled"), [("", True), ("on", True), ("off", False), ("0", False)])
def test_the_environment_switch(monkeypatch: pytest.MonkeyPatch, value: str, enabled: bool) -> None:
    monkeypatch.setenv("SWITCHBOARD_SANDBOX_LIMITS", value)
    assert limits_enabled() is enabled
    assert Things().limiter.enforce is enabled
    assert limits_enabled(True) is True  # the constructor's argument wins


def test_a_bad_environment_switch_says_what_to_write(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_SANDBOX_LIMITS", "maybe")
    with pytest.raises(InvalidLimitsSetting, match="SWITCHBOARD_SANDBOX_LIMITS='maybe': use on or off"):
        Things()


def test_a_bad_lag_in_the_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_SANDBOX_LAG_S", "later")
    with pytest.raises(ValueError, match="SWITCHBOARD_SANDBOX_LAG_S='later'"):
        Things()


def test_every_stand_in_but_square_enforces_a_declared_limit_by_default_and_they_can_be_lifted() -> None:
    sandboxes = create_sandboxes()
    assert sandboxes and all(app.limiter.enforce for app in sandboxes.values())
    # Square alone publishes no limit (apps/square/standin: none enforced rather than a guess).
    assert sorted(n for n, a in sandboxes.items() if not a.rate_limits) == ["square"]
    assert all(limit.source.startswith("https://") for a in sandboxes.values() for limit in a.rate_limits)
    assert not any(app.limiter.enforce for app in create_sandboxes(limits=False).values())
    assert {app.visibility.lag_s for app in create_sandboxes(consistency_lag_s=1.5).values()} == {1.5}


def test_describe_says_what_each_stand_in_allowed_and_refused() -> None:
    app = Things(clock=Clock())
    for _ in range(4):
        app.handle(request())
    lifted = Things(clock=Clock(), limits=False)
    sandboxes: dict[str, SandboxApp] = {"things": app, "lifted": lifted}
    assert describe(sandboxes) == [
        "lifted: lifted - three 3 per 10 s per token (rolling), 0 counted, 0 refused",
        "things: enforced - three 3 per 10 s per token (rolling), 3 counted, 1 refused",
    ]
    data: dict[str, Any] = report(sandboxes)
    assert data["things"]["limits"][0]["refused"] == 1


def test_describe_names_the_real_stand_ins_limits() -> None:
    lines = describe(create_sandboxes())
    hubspot = next(line for line in lines if line.startswith("hubspot: "))
    assert "TEN_SECONDLY_ROLLING 100 per 10 s per token (rolling)" in hubspot
    assert "DAILY 250,000 per day per token (fixed)" in hubspot
    slack = next(line for line in lines if line.startswith("slack: "))
    assert "chat.postMessage 60 per 1 min per token and channel (rolling) on /chat.postMessage" in slack


def test_hubspot_search_has_its_own_five_a_second_per_account() -> None:
    """HubSpot's CRM search: 5 requests a second per account, on top of the 100 per 10 s."""
    from apps.hubspot.standin import DEFAULT_TOKEN, HubSpotSandbox

    clock = Clock()
    hubspot = HubSpotSandbox(clock=clock)
    auth = {"authorization": f"Bearer {DEFAULT_TOKEN}", "content-type": "application/json"}

    def search() -> SandboxResponse:
        body = b'{"filterGroups": [], "limit": 1}'
        return hubspot.handle(
            SandboxRequest("POST", "/crm/v3/objects/contacts/search", headers=auth, body=body)
        )

    assert [search().status for _ in range(5)] == [200] * 5
    refused = search()
    assert refused.status == 429
    assert refused.parsed()["policyName"] == "SECONDLY"
    assert refused.parsed()["message"] == "You have reached your secondly limit."
    assert refused.headers["retry-after"] == "1"
    # Other endpoints go on: only search has this limit (the burst limit has room for 95 more).
    listed = hubspot.handle(SandboxRequest("GET", "/crm/v3/objects/contacts", headers=auth))
    assert listed.status == 200 and listed.headers["x-hubspot-ratelimit-remaining"] == "94"
    clock.now += 1.0
    assert search().status == 200
    [search_limit] = [
        lim for lim in report({"hubspot": hubspot})["hubspot"]["limits"] if lim["name"] == "SECONDLY"
    ]
    assert (search_limit["counted"], search_limit["refused"]) == (6, 1)
    assert search_limit["source"] == "https://developers.hubspot.com/docs/api/crm/search"
    line = next(line for line in describe({"hubspot": hubspot}))
    assert "SECONDLY 5 per 1 s per account (rolling) on POST /search" in line
