"""daily_sales_report's worker: read one day from Square, email the report, post it to Slack.

Three steps, each recorded in the effects ledger under the work item's event id
(``report:all:<day>``), so a retry resumes where the last attempt failed:

1. ``square.snapshot`` - ListPayments for each configured location and ListPaymentRefunds (every
   page, through the cursor), summed into a :class:`~.models.Report` (:mod:`.report`). Reading
   changes nothing at Square, but the *result* is recorded: when Slack fails after the email went
   out, the retry posts the figures the email showed, even if a refund landed in between.
2. ``email.report`` - the templated report (HTML + text, ``templates/daily_report.*``) to
   ``report_to`` through SES.
3. ``slack.post`` - the summary in ``slack_channel`` with Block Kit (:mod:`.slack_message`).

A Square error before the snapshot is recorded is retried as a whole (5xx/429/timeouts back off;
a refusal such as a revoked token is permanent and goes to the DLQ with Square's reason). Step
results hold figures and ids only - no card numbers, no customer data.

Imported on the worker path only (``spec.worker``).
"""

from __future__ import annotations

from itertools import chain
from pathlib import Path
from typing import Any, Final

from shared.apps import slack, square
from shared.email import Templates, send_email
from shared.worker import WorkContext

from .content import template_context, view
from .models import Report, ReportRequest, Settings
from .report import build_report, day_bounds
from .slack_message import report_message

TEMPLATES: Final = Templates(Path(__file__).parent / "templates")


def process(request: ReportRequest, ctx: WorkContext) -> dict[str, Any]:
    settings: Settings = ctx.settings

    def snapshot() -> dict[str, Any]:
        return read_day(request, ctx, settings).model_dump(mode="json")

    report = Report.model_validate(ctx.step("square.snapshot", snapshot))
    mail = TEMPLATES.email("daily_report", template_context(report, settings.business_name))

    def email_report() -> dict[str, str]:
        message_id = send_email(
            ctx.rt,
            from_address=settings.from_address,
            to=list(settings.report_to),
            subject=mail.subject,
            html=mail.html,
            text=mail.text,
        )
        return {"message_id": message_id}

    emailed = ctx.step("email.report", email_report)

    def post_to_slack() -> dict[str, str]:
        text, blocks = report_message(view(report), settings.business_name)
        client = slack.SlackClient(ctx.api(slack.APP, slack.CONNECTION))
        posted = client.post_message(settings.slack_channel, text, blocks)
        return {"channel": posted.channel, "ts": posted.ts}

    posted = ctx.step("slack.post", post_to_slack)
    return {
        "day": report.day.isoformat(),
        "payments": report.count,
        "net": report.net,
        "currency": report.currency,
        "email_message_id": emailed["message_id"],
        "slack_ts": posted["ts"],
    }


def read_day(request: ReportRequest, ctx: WorkContext, settings: Settings) -> Report:
    """Every payment and refund of the local day from Square, summed."""
    client = square.SquareClient(ctx.api(square.APP, square.CONNECTION))
    begin, end = day_bounds(request.day, request.timezone)
    # ListPayments without location_id answers the main location only: ask for each location.
    payments = chain.from_iterable(
        client.list_payments(begin_time=begin, end_time=end, location_id=location)
        for location in settings.locations
    )
    # ListPaymentRefunds covers all locations in one listing; build_report keeps the configured ones.
    refunds = client.list_refunds(begin_time=begin, end_time=end)
    return build_report(
        day=request.day,
        timezone=request.timezone,
        currency=settings.currency,
        payments=list(payments),
        refunds=list(refunds),
        locations=settings.locations,
    )
