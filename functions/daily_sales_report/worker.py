"""daily_sales_report's worker: read one day from the till (Square), email the report, post it to Slack.

Three steps, each recorded in the effects ledger under the work item's event id
(``report:all:<day>``), so a retry resumes where the last attempt failed:

1. ``square.snapshot`` - the action ``payments.list`` (ListPayments for each configured location and
   ListPaymentRefunds, every page; answered in the payments domain's terms), summed into a
   :class:`~.models.Report` (:mod:`.report`); with ``online: shopify`` also ``payments.list_online``
   (Shopify's orders and refunds of the day), summed into the report's online row. Reading changes nothing at Square, but the *result* is
   recorded: when Slack fails after the email went out, the retry posts the figures the email
   showed, even if a refund landed in between.
2. ``email.report`` - the templated report (HTML + text, ``templates/daily_report.*``) to
   ``report_to`` through SES (the action ``email.send``).
3. ``slack.post`` - the summary in ``slack_channel`` with Block Kit (:mod:`.slack_message`; the
   action ``slack.post_message``).

The step names are those of the first version: they are the ledger keys of reports already sent.

A Square error before the snapshot is recorded is retried as a whole (5xx/429/timeouts back off;
a refusal such as a revoked token is permanent and goes to the DLQ with Square's reason). Step
results hold figures and ids only - no card numbers, no customer data.

Imported on the worker path only (``spec.worker``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from apps.slack.actions import POST_MESSAGE
from apps.square.actions import LIST_PAYMENTS
from shared.actions import chat, provider
from shared.actions import email as email_actions
from shared.actions.payments import ListOnlinePayments, ListPayments, PaymentList
from shared.email import Templates
from shared.worker import WorkContext

from .content import template_context, view
from .models import ONLINE_LABELS, Online, Report, ReportRequest, Settings
from .report import build_online, build_report, day_bounds
from .slack_message import report_message

TEMPLATES: Final = Templates(Path(__file__).parent / "templates")


def process(request: ReportRequest, ctx: WorkContext) -> dict[str, Any]:
    settings: Settings = ctx.settings

    def snapshot() -> dict[str, Any]:
        return read_day(request, ctx, settings).model_dump(mode="json")

    report = Report.model_validate(ctx.step("square.snapshot", snapshot))
    mail = TEMPLATES.email("daily_report", template_context(report, settings.business_name))

    def email_report() -> dict[str, Any]:
        message = email_actions.SendEmail(
            from_address=settings.from_address,
            to=list(settings.report_to),
            subject=mail.subject,
            html=mail.html,
            text=mail.text,
        )
        return email_actions.SEND(ctx, message).model_dump(mode="json")

    emailed = ctx.step("email.report", email_report)

    def post_to_slack() -> dict[str, Any]:
        text, blocks = report_message(view(report), settings.business_name)
        message = chat.PostMessage(channel=settings.slack_channel, text=text, blocks=list(blocks))
        return POST_MESSAGE(ctx, message).model_dump(mode="json")

    posted = ctx.step("slack.post", post_to_slack)
    return {
        "day": report.day.isoformat(),
        "payments": report.count,
        "net": report.total_net,
        "online_orders": report.online.count if report.online else None,
        "currency": report.currency,
        "email_message_id": emailed["message_id"],
        "slack_ts": posted["ts"],
    }


def read_day(request: ReportRequest, ctx: WorkContext, settings: Settings) -> Report:
    """Every payment and refund of the local day at the configured locations, from Square, summed.

    ``payments.list`` asks ListPayments once per location (without one Square answers the main
    location only) and keeps the refunds of these locations; :func:`build_report` checks the day and
    the locations again on each object, so the sums never depend on Square's edges.
    """
    begin, end = day_bounds(request.day, request.timezone)
    listed = LIST_PAYMENTS(
        ctx, ListPayments(begin_time=begin, end_time=end, location_ids=list(settings.locations))
    )
    report = build_report(
        day=request.day,
        timezone=request.timezone,
        currency=settings.currency,
        payments=listed.payments,
        refunds=listed.refunds,
        locations=settings.locations,
    )
    if settings.online == "none":
        return report
    return report.model_copy(update={"online": read_online(request, ctx, settings)})


def read_online(request: ReportRequest, ctx: WorkContext, settings: Settings) -> Online:
    """The online shop's orders and refunds of the local day (``payments.list_online``), summed."""
    begin, end = day_bounds(request.day, request.timezone)
    action = provider("payments.list_online", settings.online)
    listed = action(ctx, ListOnlinePayments(begin_time=begin, end_time=end))
    assert isinstance(listed, PaymentList)
    return build_online(
        day=request.day,
        timezone=request.timezone,
        currency=settings.currency,
        label=ONLINE_LABELS[settings.online],
        where=action.app.capitalize(),
        payments=listed.payments,
        refunds=listed.refunds,
    )
