"""The local scheduler: EventBridge Scheduler's rate() and cron() expressions, in a time zone.

Day-of-week numbering and DST behaviour follow EventBridge Scheduler's documentation: 1 = SUN, and
"when the time shifts forward in Spring, your schedule invocation gets skipped if the cron expression
falls on a non-existent date and time. When the time shifts back in the Fall, your schedule runs only
once" (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html, "Daylight saving
time on EventBridge Scheduler").
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel

from infra.local.scheduler import Scheduler, next_fire, schedule_message
from shared.runtime import Runtime
from shared.spec import Accepted, IntegrationSpec, ScheduledRun, ScheduleTrigger
from shared.worker import decode

LONDON = "Europe/London"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def fire(expression: str, after: datetime, tz: str = "UTC") -> datetime:
    return next_fire(expression, tz, after).astimezone(UTC)


# --- rate() ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "delta"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(5 minutes)", timedelta(minutes=5)),
        ("rate(2 hours)", timedelta(hours=2)),
        ("rate(1 day)", timedelta(days=1)),
        ("rate(3 days)", timedelta(days=3)),
    ],
)
def test_rate_fires_that_long_after_the_last_time(expression: str, delta: timedelta) -> None:
    after = utc(2026, 3, 28, 12, 7, 30)
    assert next_fire(expression, "UTC", after) == after + delta


def test_rate_in_days_is_24_hours_even_across_a_dst_change() -> None:
    # The local runtime's clock (and so every ``after``) is UTC.
    assert fire("rate(1 day)", utc(2026, 3, 28, 12, 0), LONDON) == utc(2026, 3, 29, 12, 0)  # 13:00 BST


def test_rate_does_not_depend_on_the_time_zone_of_after() -> None:
    after = datetime(2026, 3, 28, 12, 0, tzinfo=ZoneInfo(LONDON))  # the same instant as 12:00Z
    assert fire("rate(1 day)", after, LONDON) == utc(2026, 3, 29, 12, 0)


@pytest.mark.parametrize("expression", ["rate(0 minutes)", "rate(5 weeks)", "rate(five minutes)", "every 5m"])
def test_bad_rate_is_refused(expression: str) -> None:
    with pytest.raises(ValueError, match=r"at least 1 minute|must be rate\(\.\.\.\) or cron"):
        next_fire(expression, "UTC", utc(2026, 1, 1))


# --- cron(): fields ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 9 * * ? *)", utc(2026, 3, 28, 8, 59, 59), utc(2026, 3, 28, 9, 0)),
        ("cron(0 9 * * ? *)", utc(2026, 3, 28, 9, 0), utc(2026, 3, 29, 9, 0)),  # strictly after
        ("cron(0 9 * * ? *)", utc(2026, 3, 28, 9, 0, 30), utc(2026, 3, 29, 9, 0)),
        ("cron(0/15 * * * ? *)", utc(2026, 3, 28, 12, 7, 30), utc(2026, 3, 28, 12, 15)),
        ("cron(*/20 * * * ? *)", utc(2026, 3, 28, 12, 41), utc(2026, 3, 28, 13, 0)),
        ("cron(10-50/20 * * * ? *)", utc(2026, 3, 28, 12, 11), utc(2026, 3, 28, 12, 30)),
        ("cron(10-50/20 * * * ? *)", utc(2026, 3, 28, 12, 50), utc(2026, 3, 28, 13, 10)),
        ("cron(0,30 8-10 * * ? *)", utc(2026, 3, 28, 10, 0), utc(2026, 3, 28, 10, 30)),
        ("cron(0,30 8-10 * * ? *)", utc(2026, 3, 28, 10, 31), utc(2026, 3, 29, 8, 0)),
        ("cron(5 3,15 * * ? *)", utc(2026, 3, 28, 3, 6), utc(2026, 3, 28, 15, 5)),
        ("cron(0 0 31 * ? *)", utc(2026, 4, 1), utc(2026, 5, 31)),
        ("cron(0 0 29 2 ? *)", utc(2026, 1, 1), utc(2028, 2, 29)),
        ("cron(0 0 1 1 ? 2027)", utc(2026, 3, 28), utc(2027, 1, 1)),
        ("cron(0 0 1 1 ? 2027-2029)", utc(2027, 1, 1), utc(2028, 1, 1)),
        ("cron(0 12 ? JAN-MAR MON-FRI *)", utc(2026, 3, 28, 12, 0), utc(2026, 3, 30, 12, 0)),
        ("cron(0 12 ? JAN-MAR MON-FRI *)", utc(2026, 3, 31, 13, 0), utc(2027, 1, 1, 12, 0)),
        ("cron(0 12 ? jan-mar mon-fri *)", utc(2026, 3, 28, 12, 0), utc(2026, 3, 30, 12, 0)),
        ("cron(0 8 1 SEP,DEC ? *)", utc(2026, 3, 28), utc(2026, 9, 1, 8, 0)),
    ],
)
def test_cron_lists_ranges_steps_and_names(expression: str, after: datetime, expected: datetime) -> None:
    assert fire(expression, after) == expected


@pytest.mark.parametrize(
    ("dow", "expected"),
    [
        ("1", utc(2026, 3, 29, 9, 0)),  # Sunday
        ("SUN", utc(2026, 3, 29, 9, 0)),
        ("2", utc(2026, 3, 30, 9, 0)),  # Monday
        ("MON", utc(2026, 3, 30, 9, 0)),
        ("6", utc(2026, 4, 3, 9, 0)),  # Friday
        ("FRI", utc(2026, 4, 3, 9, 0)),
        ("7", utc(2026, 4, 4, 9, 0)),  # Saturday: the 28th is a Saturday, but 09:00 has passed
        ("SAT", utc(2026, 4, 4, 9, 0)),
        ("1,7", utc(2026, 3, 29, 9, 0)),
        ("3-5", utc(2026, 3, 31, 9, 0)),  # Tuesday..Thursday
    ],
)
def test_day_of_week_numbering_is_aws_1_is_sunday(dow: str, expected: datetime) -> None:
    assert utc(2026, 3, 28).strftime("%A") == "Saturday"
    assert fire(f"cron(0 9 ? * {dow} *)", utc(2026, 3, 28, 12, 0)) == expected


def test_question_mark_means_any() -> None:
    assert fire("cron(0 9 ? * ? *)", utc(2026, 3, 28, 12)) == fire("cron(0 9 * * * *)", utc(2026, 3, 28, 12))
    assert fire("cron(0 9 ? * ? *)", utc(2026, 3, 28, 12)) == utc(2026, 3, 29, 9, 0)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("cron(0 9 ? * WED *)", utc(2026, 4, 1, 9, 0)),
        ("cron(0 9 1 JUL ? *)", utc(2026, 7, 1, 9, 0)),
        ("cron(0 9 ? * MON-WED *)", utc(2026, 3, 30, 9, 0)),
    ],
)
def test_month_and_day_names_with_l_or_w(expression: str, expected: datetime) -> None:
    assert fire(expression, utc(2026, 3, 28, 12, 0)) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 9 L * ? *)",
        "cron(0 9 15W * ? *)",
        "cron(0 9 LW * ? *)",
        "cron(0 9 ? * 6L *)",
        "cron(0 9 ? * 2#1 *)",
    ],
)
def test_l_w_and_hash_are_refused(expression: str) -> None:
    with pytest.raises(ValueError, match="L, W and # are not supported by the local scheduler"):
        next_fire(expression, "UTC", utc(2026, 1, 1))


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("cron(0 9 * * ?)", "needs 6 fields"),
        ("cron(0 9 * * ? * *)", "needs 6 fields"),
        ("cron(60 9 * * ? *)", "outside 0-59"),
        ("cron(0 24 * * ? *)", "outside 0-23"),
        ("cron(0 9 0 * ? *)", "outside 1-31"),
        ("cron(0 9 * 13 ? *)", "outside 1-12"),
        ("cron(0 9 ? * 8 *)", "outside 1-7"),
        ("cron(0/0 * * * ? *)", "outside 0-59"),
        ("cron(0 0 1 1 ? 2020)", "never fires"),
        ("cron(0 0 30 2 ? *)", "never fires"),
        ("0 9 * * ? *", "must be rate"),
    ],
)
def test_invalid_cron_is_refused(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        next_fire(expression, "UTC", utc(2026, 1, 1))


# --- time zones and daylight saving time ----------------------------------------------------------


def test_cron_runs_on_the_wall_clock_of_its_time_zone() -> None:
    assert fire("cron(0 9 * * ? *)", utc(2026, 3, 27, 12), LONDON) == utc(2026, 3, 28, 9, 0)  # GMT
    assert fire("cron(0 9 * * ? *)", utc(2026, 3, 28, 12), LONDON) == utc(2026, 3, 29, 8, 0)  # BST
    assert fire("cron(0 9 * * ? *)", utc(2026, 3, 7, 15), "America/New_York") == utc(2026, 3, 8, 13, 0)
    assert fire("cron(0 9 * * ? *)", utc(2026, 3, 6, 15), "America/New_York") == utc(2026, 3, 7, 14, 0)


def test_result_is_in_the_schedules_time_zone() -> None:
    got = next_fire("cron(0 9 * * ? *)", LONDON, utc(2026, 6, 1, 12))
    assert got.tzinfo == ZoneInfo(LONDON)
    assert got.isoformat() == "2026-06-02T09:00:00+01:00"


def test_times_after_the_spring_gap_are_unaffected() -> None:
    # 2026-03-29 in London: 01:00 GMT jumps to 02:00 BST. 02:30 exists (BST).
    assert fire("cron(30 2 * * ? *)", utc(2026, 3, 28, 12), LONDON) == utc(2026, 3, 29, 1, 30)


def test_a_time_in_the_spring_gap_is_skipped() -> None:
    assert fire("cron(30 1 * * ? *)", utc(2026, 3, 28, 12), LONDON) == utc(2026, 3, 30, 0, 30)


def test_a_time_in_the_repeated_autumn_hour_runs_once() -> None:
    # 2026-10-25 in London: 02:00 BST falls back to 01:00 GMT, so 01:30 happens twice.
    first = fire("cron(30 1 * * ? *)", utc(2026, 10, 24, 12), LONDON)
    assert first == utc(2026, 10, 25, 0, 30)  # 01:30 BST, the first 01:30
    assert fire("cron(30 1 * * ? *)", first, LONDON) == utc(2026, 10, 26, 1, 30)  # not 01:30 GMT again


def test_every_quarter_hour_in_the_repeated_hour_does_not_repeat() -> None:
    last_bst = utc(2026, 10, 25, 0, 45)  # 01:45 BST
    assert fire("cron(0/15 1 * * ? *)", last_bst, LONDON) == utc(2026, 10, 26, 1, 0)


# --- Scheduler ---------------------------------------------------------------------------------------


class Tick(BaseModel):
    name: str


def accept(run: ScheduledRun) -> list[Accepted]:
    return [Accepted(event_id=f"{run.trigger}@{run.scheduled_at}", type="tick", data=Tick(name=run.timezone))]


NIGHTLY = ScheduleTrigger(
    name="nightly", expression="cron(0 2 * * ? *)", accept=accept, timezone="Europe/Paris"
)
SPEC = IntegrationSpec(
    name="scheduled",
    description="test double",
    input_model=Tick,
    worker="tests.infra.test_local_scheduler:accept",
    triggers=(NIGHTLY,),
)


def test_fire_due_queues_the_schedule_message_when_due() -> None:
    clock = [utc(2026, 3, 20, 0, 59)]
    sent: list[tuple[str, str]] = []
    scheduler = Scheduler((SPEC,), lambda name, body: sent.append((name, body)), lambda: clock[0])
    due = datetime(2026, 3, 20, 2, 0, tzinfo=ZoneInfo("Europe/Paris"))  # 01:00Z
    assert scheduler.schedules == [("scheduled", "nightly", due)]

    assert scheduler.fire_due() == 0
    assert sent == []

    clock[0] = utc(2026, 3, 20, 1, 0)
    assert scheduler.fire_due() == 1
    assert len(sent) == 1
    name, body = sent[0]
    assert name == "scheduled"
    assert json.loads(body) == {
        "switchboard_schedule": "nightly",
        "integration": "scheduled",
        "scheduled_at": "2026-03-20T02:00:00+01:00",
    }
    assert body == schedule_message("scheduled", NIGHTLY, due)

    assert scheduler.fire_due() == 0  # not again for the same tick
    assert scheduler.schedules == [("scheduled", "nightly", due + timedelta(days=1))]


def test_fire_due_after_a_long_pause_fires_once_and_moves_on() -> None:
    clock = [utc(2026, 3, 20, 0, 0)]
    sent: list[tuple[str, str]] = []
    scheduler = Scheduler((SPEC,), lambda name, body: sent.append((name, body)), lambda: clock[0])
    clock[0] = utc(2026, 3, 23, 12, 0)  # three ticks missed
    assert scheduler.fire_due() == 1
    assert json.loads(sent[0][1])["scheduled_at"] == "2026-03-20T02:00:00+01:00"
    assert scheduler.fire_due() == 1  # the next missed one, one per call
    assert json.loads(sent[1][1])["scheduled_at"] == "2026-03-21T02:00:00+01:00"


def test_schedule_message_decodes_into_an_envelope_for_the_worker() -> None:
    rt = Runtime(
        spec=SPEC,
        stage="test",
        queue_url="unused",
        dlq_url="unused",
        table="unused",
        bus="unused",
        secret_prefix="unused/",
    )
    body = schedule_message(
        "scheduled", NIGHTLY, datetime(2026, 3, 20, 2, 0, tzinfo=ZoneInfo("Europe/Paris"))
    )
    (envelope,) = decode(rt, body)
    assert envelope.integration == "scheduled"
    assert envelope.trigger == "nightly"
    assert envelope.event_id == "nightly@2026-03-20T02:00:00+01:00"
    assert envelope.data == {"name": "Europe/Paris"}


def test_a_spec_without_schedules_is_never_started() -> None:
    plain = IntegrationSpec(name="plain", description="", input_model=Tick, triggers=())
    scheduler = Scheduler((plain,), lambda name, body: None, lambda: utc(2026, 1, 1))
    assert scheduler.schedules == []
    scheduler.start()  # no thread for nothing to do
    assert scheduler.fire_due() == 0
    scheduler.stop()
