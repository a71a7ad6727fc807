"""daily_sales_report through the production handler: schedule ticks on the queue, moto SES, the
Square and Slack sandboxes.

Expected figures are worked out here from the sandbox's seed data (``SEED_PAYMENTS``,
``SEED_REFUNDS``) with ``zoneinfo`` - not with the integration's own code - and compared with what the
email and the Slack message say.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from apps.slack.standin import SlackSandbox
from apps.square.standin import SEED_PAYMENTS, SEED_REFUNDS, SquareSandbox
from functions.daily_sales_report.models import Report, Settings
from functions.daily_sales_report.report import MixedCurrency, build_report, day_bounds, format_money
from functions.daily_sales_report.spec import TIMEZONE, accept_tick, report_id
from functions.daily_sales_report.worker import TEMPLATES
from infra.local.runtime import local_settings
from infra.local.samples import EVENTS_DIR, Sample, load_samples
from infra.local.scheduler import schedule_message
from sandbox.base import SandboxApp, SandboxRequest
from shared.actions.payments import Payment, Refund
from shared.registry import load_spec
from shared.runtime import Runtime
from shared.spec import ScheduledRun, ScheduleTrigger
from tests.support import cli, dlq_messages, drain

SPEC = load_spec("daily_sales_report")
TRIGGER = next(t for t in SPEC.triggers if isinstance(t, ScheduleTrigger))
REGION = "us-east-1"
LONDON = ZoneInfo("Europe/London")
SETTINGS = Settings.model_validate_json(local_settings(SPEC))
OWNER = SETTINGS.report_to[0]


# --- the expectation, from the seed data ------------------------------------------------------------


@dataclass
class Expected:
    count: int = 0
    gross: int = 0
    tips: int = 0
    refunds: int = 0
    refund_count: int = 0
    fees: int = 0
    not_completed: int = 0
    by_method: dict[str, int] | None = None

    @property
    def net(self) -> int:
        return self.gross - self.refunds


def local_day(rfc3339: str) -> date:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).astimezone(LONDON).date()


def expected_for(day: date) -> Expected:
    brands = {
        "VISA": "Visa",
        "MASTERCARD": "Mastercard",
        "AMERICAN_EXPRESS": "American Express",
        "MAESTRO": "Maestro",
    }
    out = Expected(by_method={})
    assert out.by_method is not None
    payments = {p.id: p for p in SEED_PAYMENTS}
    for p in SEED_PAYMENTS:
        if local_day(p.created_at) != day or p.location_id not in SETTINGS.locations:
            continue
        if p.status != "COMPLETED":
            out.not_completed += 1
            continue
        out.count += 1
        out.gross += p.amount
        out.tips += p.tip
        out.fees += p.fee
        label = (
            "Cash"
            if p.source_type == "CASH"
            else brands[p.card_brand or ""]
            if p.source_type == "CARD"
            else "Other"
        )
        out.by_method[label] = out.by_method.get(label, 0) + p.total
    for r in SEED_REFUNDS:
        if local_day(r.created_at) != day or r.status != "COMPLETED":
            continue
        paid = payments[r.payment_id]
        out.refund_count += 1
        out.refunds += r.amount
        if paid.fee:  # Square hands back the fee share of a card refund
            out.fees -= int((Decimal(paid.fee) * r.amount / paid.total).to_integral_value(ROUND_HALF_UP))
    return out


def pounds(pence: int) -> str:
    return f"-£{abs(pence) / 100:,.2f}" if pence < 0 else f"£{pence / 100:,.2f}"  # display only


# --- helpers -----------------------------------------------------------------------------------------


def emails(to: str | None = None) -> list[Any]:
    sent = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    return [m for m in sent if to is None or to in m.destinations.get("ToAddresses", [])]


def control(app: SandboxApp, method: str, path: str, body: Any = None) -> Any:
    raw = b"" if body is None else json.dumps(body).encode()
    return app.handle(SandboxRequest(method=method, path=path, body=raw)).parsed()


def tick(rt: Runtime, scheduled_at: str) -> None:
    """Queue one schedule tick exactly as the deployed schedule (and ``make dev``) does."""
    due = datetime.fromisoformat(scheduled_at)
    rt.aws("sqs").send_message(QueueUrl=rt.queue_url, MessageBody=schedule_message(SPEC.name, TRIGGER, due))


def requests(app: SandboxApp, path: str) -> list[dict[str, Any]]:
    res = app.handle(SandboxRequest(method="GET", path="/_requests", query={"path": [path]}))
    return list(res.parsed()["requests"])


@pytest.fixture
def rt(make_runtime: Any) -> Runtime:
    runtime: Runtime = make_runtime("daily_sales_report", retry_scale=0)
    return runtime


@pytest.fixture
def slack(sandboxes: dict[str, SandboxApp]) -> SlackSandbox:
    app = sandboxes["slack"]
    assert isinstance(app, SlackSandbox)
    return app


@pytest.fixture
def square(sandboxes: dict[str, SandboxApp]) -> SquareSandbox:
    app = sandboxes["square"]
    assert isinstance(app, SquareSandbox)
    return app


@pytest.fixture(autouse=True)
def _no_email_yet(aws: Any) -> None:
    assert emails() == []


# --- the schedule -----------------------------------------------------------------------------------


def test_the_schedule_is_seven_in_the_morning_london_time() -> None:
    assert TRIGGER.expression == "cron(0 7 * * ? *)" and TRIGGER.timezone == TIMEZONE == "Europe/London"


@pytest.mark.parametrize(
    ("scheduled_at", "day"),
    [
        ("2026-11-21T07:00:00+00:00", date(2026, 11, 20)),
        ("2026-07-15T06:00:00Z", date(2026, 7, 14)),  # 07:00 BST
        ("2026-07-14T23:30:00Z", date(2026, 7, 14)),  # 00:30 BST on the 15th: yesterday is the 14th
        ("2026-03-29T06:00:00Z", date(2026, 3, 28)),  # the morning clocks went forward
    ],
)
def test_yesterday_is_computed_in_the_schedules_zone(scheduled_at: str, day: date) -> None:
    (accepted,) = accept_tick(ScheduledRun("daily", scheduled_at, TIMEZONE))
    assert accepted.event_id == report_id(day) == f"report:all:{day.isoformat()}"
    assert accepted.data.model_dump()["day"] == day


def test_day_bounds_follow_the_clock_changes() -> None:
    begin, end = day_bounds(date(2026, 10, 25), TIMEZONE)  # clocks go back: a 25-hour day
    assert (begin, end) == (datetime(2026, 10, 24, 23, tzinfo=UTC), datetime(2026, 10, 26, 0, tzinfo=UTC))
    begin, end = day_bounds(date(2026, 3, 29), TIMEZONE)  # clocks go forward: 23 hours
    assert end - begin == (datetime(2026, 3, 29, 23, tzinfo=UTC) - datetime(2026, 3, 29, 0, tzinfo=UTC))


# --- the report, end to end --------------------------------------------------------------------------


def test_a_busy_day_over_several_pages_adds_up_to_the_sandboxs_data(
    rt: Runtime, slack: SlackSandbox, square: SquareSandbox
) -> None:
    tick(rt, "2026-11-21T07:00:00+00:00")
    drain(rt)
    assert dlq_messages(rt) == []
    want = expected_for(date(2026, 11, 20))
    assert want.count > 100 and want.refund_count >= 2 and want.not_completed >= 3  # the data is interesting
    pages = requests(square, "/v2/payments")
    assert len(pages) == 3  # High Street: two pages of 100 max; Market Hall: one
    assert {r["query"]["begin_time"][0] for r in pages} == {"2026-11-20T00:00:00Z"}
    assert {r["query"]["end_time"][0] for r in pages} == {"2026-11-21T00:00:00Z"}
    (mail,) = emails(OWNER)
    assert (
        mail.subject
        == f"Bramble Bakery sales for Fri 20 Nov: net {pounds(want.net)} from {want.count} payments"
    )
    html = mail.body
    for figure in (want.net, want.gross, want.refunds, want.tips, want.fees):
        assert pounds(figure) in html
    assert want.by_method is not None
    for label, taken in want.by_method.items():
        assert label in html and pounds(taken) in html
    (message,) = slack.state()["messages"]
    blob = json.dumps(message, ensure_ascii=False)
    assert pounds(want.net) in blob and str(want.count) in blob and pounds(want.tips) in blob


def test_a_summer_day_starts_at_local_midnight(rt: Runtime, slack: SlackSandbox) -> None:
    tick(rt, "2026-07-15T06:00:00Z")
    drain(rt)
    want = expected_for(date(2026, 7, 14))
    # The 23:00 UTC sale of the 13th is in (00:00 BST); the 23:10 UTC sale of the 14th is not.
    assert want.count == 5
    (mail,) = emails(OWNER)
    assert f"net {pounds(want.net)} from {want.count} payments" in mail.subject
    assert "00:00-01:00" in mail.body and "23:00-00:00" in mail.body


def test_a_rerun_of_the_same_day_sends_nothing_twice(rt: Runtime, slack: SlackSandbox) -> None:
    tick(rt, "2026-11-21T07:00:00+00:00")
    drain(rt)
    tick(rt, "2026-11-21T07:00:00+00:00")  # the scheduler delivered twice
    tick(rt, "2026-11-21T09:30:00+00:00")  # someone re-ran the same morning
    drain(rt)
    assert len(emails(OWNER)) == 1 and len(slack.state()["messages"]) == 1
    assert dlq_messages(rt) == []


def test_slack_down_after_the_email_retries_slack_only(
    rt: Runtime, slack: SlackSandbox, square: SquareSandbox
) -> None:
    control(
        slack, "POST", "/_faults", {"kind": "status", "status": 503, "count": 2, "path": "/chat.postMessage"}
    )
    tick(rt, "2026-11-21T07:00:00+00:00")
    drain(rt)
    assert [r["status"] for r in requests(slack, "/chat.postMessage")] == [503, 503, 200]
    assert len(emails(OWNER)) == 1  # sent on the first attempt, skipped on both retries
    assert len(requests(square, "/v2/payments")) == 3  # the snapshot was read once, then reused
    assert len(slack.state()["messages"]) == 1


def test_square_5xx_is_retried(rt: Runtime, slack: SlackSandbox, square: SquareSandbox) -> None:
    control(square, "POST", "/_faults", {"kind": "status", "status": 503, "count": 2, "path": "/v2/refunds"})
    tick(rt, "2026-11-21T07:00:00+00:00")
    drain(rt)
    assert [r["status"] for r in requests(square, "/v2/refunds")] == [503, 503, 200]
    assert len(emails(OWNER)) == 1 and len(slack.state()["messages"]) == 1
    assert dlq_messages(rt) == []


def test_a_revoked_square_token_goes_to_the_dlq_with_the_reason(rt: Runtime, square: SquareSandbox) -> None:
    control(square, "POST", "/_faults", {"kind": "status", "status": 401, "count": 1})
    tick(rt, "2026-11-21T07:00:00+00:00")
    drain(rt)
    (dead,) = dlq_messages(rt)
    assert "401" in dead["MessageAttributes"]["reason"]["StringValue"]
    assert emails() == []


def test_a_day_without_sales_still_reports(rt: Runtime, slack: SlackSandbox) -> None:
    tick(rt, "2026-01-02T07:00:00+00:00")
    drain(rt)
    (mail,) = emails(OWNER)
    assert mail.subject == "Bramble Bakery sales for Thu 1 Jan: no sales"
    assert "no sales" in json.dumps(slack.state()["messages"][0], ensure_ascii=False)


# --- the arithmetic on its own ----------------------------------------------------------------------


def money(amount: int, currency: str = "GBP") -> dict[str, Any]:
    return {"amount": amount, "currency": currency, "exponent": 2}


def payment(pid: str, at: str, amount: int, currency: str = "GBP", **extra: Any) -> Payment:
    return Payment.model_validate(
        {
            "id": pid,
            "created_at": at,
            "status": "completed",
            "location_id": "L8M2Q9ZB3XW1P",
            "source": "cash",
            "amount": money(amount, currency),
            **extra,
        }
    )


def report(payments: list[Payment], refunds: Sequence[Refund] = ()) -> Report:
    return build_report(
        day=date(2026, 11, 20),
        timezone=TIMEZONE,
        currency="GBP",
        payments=payments,
        refunds=refunds,
        locations=SETTINGS.locations,
    )


def test_mixed_currencies_are_a_clear_permanent_error() -> None:
    with pytest.raises(MixedCurrency, match=r"in GBP, but Square has amounts in EUR \(1: P2\)"):
        report(
            [payment("P1", "2026-11-20T10:00:00Z", 500), payment("P2", "2026-11-20T11:00:00Z", 700, "EUR")]
        )


def test_boundaries_duplicates_and_unknown_locations_are_left_out() -> None:
    got = report(
        [
            payment("A", "2026-11-20T00:00:00Z", 100),
            payment("A", "2026-11-20T00:00:00Z", 100),  # the same payment on two pages
            payment("B", "2026-11-21T00:00:00Z", 200),  # the next day's first sale (end exclusive)
            payment("C", "2026-11-20T12:00:00Z", 400, location_id="LW3C5H8J0P9SE"),  # not configured
            payment("D", "2026-11-20T12:00:00Z", 800, status="failed"),
        ]
    )
    assert (got.count, got.gross, got.not_completed) == (1, 100, 1)


def test_money_is_formatted_exactly() -> None:
    assert format_money(123450, "GBP") == "£1,234.50"
    assert format_money(-120, "GBP") == "-£1.20"
    assert format_money(1500, "JPY") == "¥1,500"
    assert format_money(1, "CHF") == "0.01 CHF"


def test_the_text_part_has_every_figure() -> None:
    got = report(
        [
            payment("A", "2026-11-20T08:00:00Z", 650, tip=money(50)),
            payment("B", "2026-11-20T09:00:00Z", 3200, source="card", card_brand="Visa"),
        ]
    )
    from functions.daily_sales_report.content import template_context

    text = TEMPLATES.email("daily_report", template_context(got, "Bramble Bakery")).text
    assert "Net sales       £38.50" in text and "Tips            £0.50" in text
    assert "Visa" in text and "Cash" in text and "08:00-09:00" in text


# --- samples and the CLI ----------------------------------------------------------------------------


@pytest.mark.parametrize("sample", load_samples(SPEC), ids=lambda s: s.path.stem)
def test_every_sample_ends_as_expected(
    make_runtime: Any, sandboxes: dict[str, SandboxApp], slack: SlackSandbox, sample: Sample
) -> None:
    settings = {**SETTINGS.model_dump(mode="json"), **sample.settings}
    rt: Runtime = make_runtime("daily_sales_report", retry_scale=0, settings_json=json.dumps(settings))
    for app, faults in sample.faults.items():
        for fault in faults:
            control(sandboxes[app], "POST", "/_faults", fault)
    tick(rt, sample.scheduled_at)
    drain(rt)
    assert sample.expect == "processed" and dlq_messages(rt) == []
    assert len(emails(OWNER)) == 1 and len(slack.state()["messages"]) == 1


def test_samples_are_schedule_ticks_that_load() -> None:
    samples = load_samples(SPEC)
    assert {s.kind for s in samples} == {"schedule"} and {s.expect for s in samples} == {"processed"}
    assert (EVENTS_DIR / "daily_sales_report" / "daily_tick.json").exists()


def test_invoke_with_a_date_reruns_that_day(tmp_path: Path) -> None:
    done = cli(tmp_path, "invoke", "daily_sales_report", "--date", "2026-11-20")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "event    report:all:2026-11-20  processed\n" in done.stdout
    assert "  steps  square.snapshot, email.report, slack.post\n" in done.stdout
    assert done.stdout.rstrip().endswith("result   processed  (schedule tick)")


def test_invoke_date_errors_say_what_to_fix(tmp_path: Path) -> None:
    bad = cli(tmp_path, "invoke", "daily_sales_report", "--date", "20/11/2026")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr
    none = cli(tmp_path, "invoke", "daily_sales_report")
    assert none.returncode == 2 and "--date" in none.stderr
    no_schedule = cli(tmp_path, "invoke", "stock_level", "--date", "2026-11-20")
    assert no_schedule.returncode == 2 and "schedule" in no_schedule.stderr
