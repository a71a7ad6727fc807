"""``calendar.free_busy`` against the stand-in, and ``calendar.find_slots``: its rule as properties."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps import google_calendar
from apps.google_calendar.actions import FIND_SLOTS, FREE_BUSY
from apps.google_calendar.standin import BOOKINGS_CALENDAR, OWNER, GoogleCalendarSandbox, google_error
from sandbox.base import SandboxRequest, as_transport
from shared.actions.calendar import WEEKDAYS, FindSlots, FreeBusyQuery
from shared.actions.slots import find_slots
from shared.app import App
from shared.errors import TargetRejected
from shared.http import ApiClient
from shared.spec import Connection

from .test_google_calendar import BASE, token

LONDON = ZoneInfo("Europe/London")


def rules(**changes: Any) -> FindSlots:
    return FindSlots.model_validate(
        {"calendar_id": "primary", "time_zone": "Europe/London", "duration_minutes": 30, **changes}
    )


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- the rule --------------------------------------------------------------------------------------


def test_the_first_slots_of_an_empty_week_start_at_nine_local() -> None:
    now = at("2026-12-07T08:00:00+00:00")  # a Monday
    found = find_slots(rules(count=3, notice_minutes=0), [], now)
    assert [s.start for s in found.slots] == [
        at("2026-12-07T09:00:00+00:00"),
        at("2026-12-07T09:30:00+00:00"),
        at("2026-12-07T10:00:00+00:00"),
    ]


def test_working_hours_follow_the_clock_across_the_spring_dst_change() -> None:
    # London: Friday 27 March 2026 is GMT, Monday 30 March is BST (clocks went forward on the 29th).
    now = at("2026-03-27T17:00:00+00:00")
    found = find_slots(rules(count=1, notice_minutes=0), [], now)
    assert found.slots[0].start == at("2026-03-30T08:00:00+00:00")  # 09:00 BST
    assert found.slots[0].start.astimezone(LONDON).hour == 9
    friday = find_slots(rules(count=1, notice_minutes=0), [], at("2026-03-27T06:00:00+00:00"))
    assert friday.slots[0].start == at("2026-03-27T09:00:00+00:00")  # 09:00 GMT


def test_a_working_window_across_the_autumn_change_is_an_hour_longer_in_real_time() -> None:
    hours = [{"day": "sun", "start": "00:00", "end": "04:00"}]
    now = at("2026-10-24T12:00:00+00:00")  # clocks go back at 02:00 BST on Sunday 25 October
    found = find_slots(rules(working_hours=hours, duration_minutes=60, step_minutes=60, count=10), [], now)
    sunday = [s for s in found.slots if s.start < at("2026-10-26T00:00:00+00:00")]
    assert len(sunday) == 5  # 00:00 BST (23:00 UTC) to 04:00 GMT is five hours
    assert sunday[0].start == at("2026-10-24T23:00:00+00:00")


def test_a_busy_block_and_its_buffer_keep_slots_away() -> None:
    now = at("2026-12-07T08:00:00+00:00")
    busy = [(at("2026-12-07T10:00:00+00:00"), at("2026-12-07T11:00:00+00:00"))]
    found = find_slots(rules(count=4, notice_minutes=0, buffer_minutes=15), busy, now)
    starts = [s.start.strftime("%H:%M") for s in found.slots]
    # 09:30-10:00 would end within 15 minutes of 10:00; 11:00 would start within 15 of 11:00.
    assert starts == ["09:00", "11:30", "12:00", "12:30"]


def test_overlapping_busy_blocks_are_one_block() -> None:
    now = at("2026-12-07T08:00:00+00:00")
    busy = [
        (at("2026-12-07T09:00:00+00:00"), at("2026-12-07T12:00:00+00:00")),
        (at("2026-12-07T11:00:00+00:00"), at("2026-12-07T16:45:00+00:00")),
        (at("2026-12-07T10:00:00+00:00"), at("2026-12-07T10:30:00+00:00")),
    ]
    found = find_slots(rules(count=1, notice_minutes=0), busy, now)
    assert found.slots[0].start == at("2026-12-08T09:00:00+00:00")


def test_notice_moves_the_first_slot() -> None:
    now = at("2026-12-07T09:10:00+00:00")
    found = find_slots(rules(count=1, notice_minutes=120), [], now)
    assert found.slots[0].start == at("2026-12-07T11:30:00+00:00")
    assert found.searched_from == at("2026-12-07T11:10:00+00:00")


def test_no_slot_in_the_horizon_is_an_empty_answer() -> None:
    now = at("2026-12-07T08:00:00+00:00")
    busy = [(now, now + timedelta(days=30))]
    found = find_slots(rules(horizon_days=7), busy, now)
    assert found.slots == []
    assert found.searched_until == at("2026-12-14T09:00:00+00:00")


def test_bad_rules_are_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="IANA"):
        rules(time_zone="Mars/Olympus")
    with pytest.raises(ValueError, match="must be after start"):
        rules(working_hours=[{"day": "mon", "start": "17:00", "end": "09:00"}])


busy_blocks = st.lists(
    st.tuples(st.integers(0, 14 * 24 * 4), st.integers(1, 16)).map(
        lambda t: (
            at("2026-03-23T00:00:00+00:00") + timedelta(minutes=15 * t[0]),
            at("2026-03-23T00:00:00+00:00") + timedelta(minutes=15 * (t[0] + t[1])),
        )
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(
    busy=busy_blocks,
    duration=st.sampled_from([15, 30, 45, 60, 90]),
    buffer=st.sampled_from([0, 5, 15, 30]),
    notice=st.sampled_from([0, 30, 240, 1440]),
    offset_h=st.integers(0, 7 * 24),
)
def test_every_slot_obeys_every_rule(
    busy: list[tuple[datetime, datetime]], duration: int, buffer: int, notice: int, offset_h: int
) -> None:
    # Two weeks around London's spring change (29 March 2026).
    now = at("2026-03-23T00:00:00+00:00") + timedelta(hours=offset_h)
    r = rules(
        duration_minutes=duration, buffer_minutes=buffer, notice_minutes=notice, count=20, horizon_days=7
    )
    found = find_slots(r, busy, now)
    starts = [s.start for s in found.slots]
    assert starts == sorted(set(starts))
    for slot in found.slots:
        assert slot.end - slot.start == timedelta(minutes=duration)
        assert slot.start >= now + timedelta(minutes=notice)
        assert slot.end <= found.searched_until
        local0, local1 = slot.start.astimezone(LONDON), slot.end.astimezone(LONDON)
        assert WEEKDAYS[local0.weekday()] in ("mon", "tue", "wed", "thu", "fri")
        assert local0.date() == local1.date()
        assert (local0.hour, local0.minute) >= (9, 0) and (local1.hour, local1.minute) <= (17, 0)
        gap = timedelta(minutes=buffer)
        for b0, b1 in busy:
            assert not (b0 < slot.end + gap and b1 > slot.start - gap)


# --- free/busy through Google's API ------------------------------------------------------------------


class Ctx:
    rt: Any = None

    def __init__(self, app: GoogleCalendarSandbox) -> None:
        self._api = ApiClient(
            google_calendar.APP, {"access_token": token(app), "base_url": BASE}, transport=as_transport(app)
        )

    def api(self, app: App, connection: Connection) -> ApiClient:
        return self._api


def add_event(app: GoogleCalendarSandbox, start: str, end: str, **extra: Any) -> None:
    with app.lock:
        n = len(app.calendars[OWNER]) + 1
        app.calendars[OWNER][f"ev{n:05d}"] = {
            "id": f"ev{n:05d}",
            "status": "confirmed",
            "start": {"dateTime": start},
            "end": {"dateTime": end},
            **extra,
        }


def test_free_busy_answers_merged_busy_periods_without_free_or_cancelled_events() -> None:
    app = GoogleCalendarSandbox()
    add_event(app, "2026-12-07T10:00:00Z", "2026-12-07T11:00:00Z")
    add_event(app, "2026-12-07T10:30:00Z", "2026-12-07T11:30:00Z")
    add_event(app, "2026-12-07T13:00:00Z", "2026-12-07T14:00:00Z", transparency="transparent")
    add_event(app, "2026-12-07T15:00:00Z", "2026-12-07T16:00:00Z", status="cancelled")
    add_event(app, "2026-12-07T17:00:00Z", "2026-12-07T19:00:00Z")
    query = FreeBusyQuery(
        calendar_id="primary", start=at("2026-12-07T00:00:00Z"), end=at("2026-12-07T18:00:00Z")
    )
    out = FREE_BUSY(Ctx(app), query)
    assert [(p.start, p.end) for p in out.busy] == [
        (at("2026-12-07T10:00:00Z"), at("2026-12-07T11:30:00Z")),
        (at("2026-12-07T17:00:00Z"), at("2026-12-07T18:00:00Z")),  # clipped to the window
    ]


def test_a_calendar_google_cannot_read_is_rejected_not_free() -> None:
    app = GoogleCalendarSandbox()
    query = FreeBusyQuery(
        calendar_id="nobody@example.com", start=at("2026-12-07T00:00:00Z"), end=at("2026-12-08T00:00:00Z")
    )
    with pytest.raises(TargetRejected, match="notFound"):
        FREE_BUSY(Ctx(app), query)
    ok = FreeBusyQuery(calendar_id=BOOKINGS_CALENDAR, start=query.start, end=query.end)
    assert FREE_BUSY(Ctx(app), ok).busy == []


def test_a_connection_without_the_free_busy_scope_says_which_scope_is_missing() -> None:
    app = GoogleCalendarSandbox()
    body = google_error(403, "insufficientPermissions", "Request had insufficient authentication scopes.")
    fault = json.dumps({"kind": "status", "status": 403, "body": body, "path": "/freeBusy"}).encode()
    assert app.handle(SandboxRequest("POST", "/_faults", body=fault)).status == 201
    query = FreeBusyQuery(
        calendar_id="primary", start=at("2026-12-07T00:00:00Z"), end=at("2026-12-08T00:00:00Z")
    )
    with pytest.raises(TargetRejected, match=r"calendar\.events\.freebusy"):
        FREE_BUSY(Ctx(app), query)


def test_a_window_longer_than_the_horizon_is_refused() -> None:
    with pytest.raises(ValueError, match="at most 60 days"):
        FreeBusyQuery(calendar_id="primary", start=at("2026-12-07T00:00:00Z"), end=at("2027-03-07T00:00:00Z"))


def test_find_slots_reads_free_busy_for_its_window_and_skips_busy_time() -> None:
    app = GoogleCalendarSandbox()
    add_event(app, "2030-01-07T09:00:00Z", "2030-01-07T12:00:00Z")  # Monday morning taken
    data = rules(after="2030-01-07T00:00:00+00:00", count=2, duration_minutes=60, step_minutes=60)
    out = FIND_SLOTS(Ctx(app), data)
    assert [s.start for s in out.slots] == [at("2030-01-07T12:00:00Z"), at("2030-01-07T13:00:00Z")]
    assert out.searched_from == at("2030-01-07T00:00:00Z")


def test_the_stand_in_refuses_a_free_busy_query_as_google_does() -> None:
    app = GoogleCalendarSandbox()
    headers = {"authorization": f"Bearer {token(app)}", "content-type": "application/json"}

    def ask(body: dict[str, Any]) -> Any:
        raw = json.dumps(body).encode()
        return app.handle(SandboxRequest("POST", "/calendar/v3/freeBusy", body=raw, headers=headers))

    window = {
        "timeMin": "2026-12-08T00:00:00Z",
        "timeMax": "2026-12-07T00:00:00Z",
        "items": [{"id": "primary"}],
    }
    empty = ask(window)
    assert empty.status == 400 and empty.parsed()["error"]["errors"][0]["reason"] == "timeRangeEmpty"
    missing = ask({"timeMax": "2026-12-07T00:00:00Z", "items": []})
    assert missing.status == 400 and missing.parsed()["error"]["errors"][0]["reason"] == "required"
    ok = ask({**window, "timeMin": "2026-12-06T00:00:00Z"}).parsed()
    assert ok == {
        "kind": "calendar#freeBusy",
        "timeMin": "2026-12-06T00:00:00Z",
        "timeMax": "2026-12-07T00:00:00Z",
        "calendars": {"primary": {"busy": []}},
    }
