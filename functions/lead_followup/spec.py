"""lead_followup: a hot lead becomes a booked meeting when its rep clicks "Book them in" in Slack.

Two ways in:

* the bus event ``lead.scored`` (lead_enrichment): a lead scoring at least ``min_score`` (or every
  lead, ``every_lead``) is offered to its rep - a Slack message with the lead, the score and the
  reason and two buttons, **Book them in** and **Not now**, whose ``value`` is ``contact:<id>``.
  Work item ``offer:<lead event id>``: a redelivered or re-emitted event offers the lead once.
* Slack's interactivity request when a button is clicked (``POST /hooks/lead_followup/slack``,
  ``application/x-www-form-urlencoded`` with a JSON ``payload``, signed ``X-Slack-Signature``). The
  ingress verifies, queues and answers at once (Slack wants an answer within 3 s; the work is the
  worker's). Work item ``click:<channel>:<message ts>:<button>``: a double click, and Slack's own
  retry of a request (``X-Slack-Retry-Num``), are the same id - duplicates, done once.

A click on anything that is not one of the two buttons, or whose value is not a contact, is
accepted and ignored (Slack must not retry it).
"""

from __future__ import annotations

from collections.abc import Sequence

from apps import google_calendar, hubspot, slack
from apps.slack.interactivity import BlockActions, InteractionForm
from shared.events import LEAD_SCORED, derived_id
from shared.spec import (
    Accepted,
    BusEvent,
    BusTrigger,
    EmailSender,
    IntegrationSpec,
    RetryPolicy,
    WebhookTrigger,
)
from shared.webhooks.base import WebhookRequest

from .models import BOOK, NOT_NOW, FollowUp, LeadScored, Settings, contact_of

_ACTIONS = {BOOK: "book", NOT_NOW: "dismiss"}


def accept_scored(detail: LeadScored, event: BusEvent) -> Sequence[Accepted]:
    """One offer per scored lead; whether it is hot enough is the worker's (settings) decision."""
    source = detail.lead_event_id or event.id
    return [
        Accepted(
            event_id=derived_id("offer", source),
            type=LEAD_SCORED,
            data=FollowUp(
                action="offer",
                contact_id=detail.contact_id,
                score=detail.score,
                reason=detail.reason,
                crm_url=detail.crm_url,
            ),
        )
    ]


def click_id(channel: str, message_ts: str, action_id: str) -> str:
    """The event id of a click: the message and the button, so a second click is a duplicate."""
    return derived_id("click", f"{channel}:{message_ts}:{_ACTIONS.get(action_id, action_id)}")


def accept_click(form: InteractionForm, request: WebhookRequest) -> Sequence[Accepted]:
    click: BlockActions = form.payload
    channel, ts = click.channel_id, click.message_ts
    accepted: list[Accepted] = []
    for action in click.actions:
        contact = contact_of(action.value)
        if action.action_id not in _ACTIONS or contact is None or not channel or not ts:
            continue
        accepted.append(
            Accepted(
                event_id=click_id(channel, ts, action.action_id),
                type=f"slack.{_ACTIONS[action.action_id]}",
                data=FollowUp(
                    action="book" if action.action_id == BOOK else "dismiss",
                    contact_id=contact,
                    channel=channel,
                    message_ts=ts,
                    user_id=click.user.id,
                ),
            )
        )
    return accepted


SPEC = IntegrationSpec(
    name="lead_followup",
    description="lead.scored -> Slack offer to the rep; 'Book them in' -> first free slot booked (Google), "
    "CRM meeting, email with .ics, message updated",
    input_model=FollowUp,
    settings=Settings,
    worker="functions.lead_followup.worker:process",
    triggers=(
        BusTrigger(
            name="lead_scored",
            detail_types=(LEAD_SCORED,),
            model=LeadScored,
            accept=accept_scored,
            description="lead_enrichment scored a lead: offer it to its rep if hot enough",
        ),
        WebhookTrigger(
            name="slack",
            path="/hooks/lead_followup/slack",
            verifier=slack.VERIFIER,
            secret=slack.SIGNING,
            model=InteractionForm,
            accept=accept_click,
            content_types=("application/x-www-form-urlencoded",),
            form_json_field="payload",
            description="Slack interactivity (block_actions): Book them in / Not now",
            events=("block_actions",),
        ),
    ),
    connections=(slack.CONNECTION, hubspot.CONNECTION, google_calendar.CONNECTION),
    email=EmailSender(from_setting="from_address"),
    timeout_s=60,
    memory_mb=256,
    batch_size=5,
    # Offers and bookings are a handful a day; one at a time keeps two clicks of one rep from racing
    # for the same calendar slot, and Slack's one post a second per channel.
    max_concurrency=1,
    max_invocations=2,
    # Slack, Google or SES down for up to ~20 minutes is ridden out; then the DLQ, steps kept.
    retry=RetryPolicy(max_attempts=8, base_delay_s=10, max_delay_s=900),
)
