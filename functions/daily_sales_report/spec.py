"""daily_sales_report: yesterday's Square takings (and the online shop's), by email and in Slack, every morning - once per day.

An EventBridge Scheduler schedule fires at 07:00 in the business's time zone (:data:`TIMEZONE`, the
single source of truth: the schedule fires in it, "yesterday" is computed in it, and the work item
carries it to the worker). Each tick becomes one work item with the event id
``report:all:<YYYY-MM-DD>`` (:func:`report_id`), so a tick delivered twice, a redrive, or a manual
``switchboard invoke daily_sales_report --date 2026-11-20`` for a day already reported sends nothing a
second time. See ``README.md`` beside this file for the figures and the re-run rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from apps import shopify, slack, square
from shared.spec import (
    Accepted,
    EmailSender,
    IntegrationSpec,
    RetryPolicy,
    ScheduledRun,
    ScheduleTrigger,
)

from .models import ReportRequest, Settings

#: The business's time zone (IANA). Change it here: the schedule, "yesterday" and the hour buckets
#: all follow it, and it is deliberately not a per-stage setting - a test stage in another zone
#: would report different days than production.
TIMEZONE: Final = "Europe/London"
#: 07:00 every day, local time (EventBridge Scheduler's six-field cron, evaluated in TIMEZONE).
EXPRESSION: Final = "cron(0 7 * * ? *)"
REPORT_TYPE: Final = "sales.daily_report"


def report_id(day: date, scope: str = "all") -> str:
    """The idempotency key of one day's report: the same day is reported once."""
    return f"report:{scope}:{day.isoformat()}"


def reported_day(scheduled_at: str, timezone: str) -> tuple[date, datetime]:
    """The local day before the tick, and the tick as an aware time (a naive one is taken as UTC)."""
    due = datetime.fromisoformat(scheduled_at.replace("Z", "+00:00"))
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    return due.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1), due


def accept_tick(run: ScheduledRun) -> Sequence[Accepted]:
    """One report per tick: the local day before ``scheduled_at`` in the schedule's time zone."""
    day, due = reported_day(run.scheduled_at, run.timezone)
    request = ReportRequest(day=day, timezone=run.timezone, scheduled_at=due)
    return [Accepted(event_id=report_id(day), type=REPORT_TYPE, data=request)]


SPEC = IntegrationSpec(
    name="daily_sales_report",
    description=(
        "Yesterday's Square sales (payments, refunds, tips, fees; by method and hour), with the online "
        "shop's (Shopify) if set, by email and Slack"
    ),
    input_model=ReportRequest,
    settings=Settings,
    worker="functions.daily_sales_report.worker:process",
    triggers=(
        ScheduleTrigger(
            name="daily",
            expression=EXPRESSION,
            accept=accept_tick,
            timezone=TIMEZONE,
            description="Every morning at 07:00 local time: report on yesterday",
        ),
    ),
    # Shopify is read only with ``online: shopify`` (Settings.online); the connection is declared so the
    # function may read its secret when a stage turns online sales on.
    connections=(square.CONNECTION, slack.CONNECTION, shopify.CONNECTION),
    email=EmailSender(from_setting="from_address", recipients=("report_to",)),
    # Reading a busy day is a few ListPayments pages per location (and a few Shopify order pages) (each well under a second) plus
    # one email and one Slack post: 60 s is ample and bounds a hung call.
    timeout_s=60,
    memory_mb=256,
    # One report a day: nothing to batch, nothing to run side by side.
    batch_size=1,
    max_concurrency=1,
    max_invocations=2,
    # A report is worth having until the afternoon: back off from 30 s up to 30 min, 10 tries in all
    # (about 2.5 hours of a Square, SES or Slack outage), then the DLQ keeps it for a redrive.
    retry=RetryPolicy(max_attempts=10, base_delay_s=30, max_delay_s=1800),
)
