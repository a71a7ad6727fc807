"""lead_followup: a hot lead becomes a booked meeting when its rep clicks "Book them in" in Slack.

Two ways in, both bus events:

* ``lead.scored`` (lead_enrichment): a lead scoring at least ``min_score`` (or every lead,
  ``every_lead``) is offered to its rep - a Slack message with the lead, the score and the reason and
  two buttons, **Book them in** and **Not now**, whose ``value`` is ``contact:<id>``. Work item
  ``offer:<lead event id>``: a redelivered or re-emitted event offers the lead once.
* ``chat.button_clicked`` (slack_interactivity, which owns the Slack app's one interactivity Request
  URL, verifies the click and answers Slack): the clicks on this flow's two buttons
  (``lead_followup.book``, ``lead_followup.not_now``) whose value is a contact. Work item
  ``book:<click id>`` or ``dismiss:<click id>`` (the click's ``source_event_id``, one per message and
  button): a double click and Slack's retry are one click upstream, and a re-put bus event is the same
  work item here - done once.

Every other button (another flow's, ``approval.approve`` ...) and a value that is not a contact is no
work for this flow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

from apps import google_calendar, hubspot, slack
from shared.events import BUTTON_CLICKED, LEAD_SCORED, ButtonClicked, derived_id
from shared.spec import Accepted, BusEvent, BusTrigger, EmailSender, IntegrationSpec, RetryPolicy

from .models import BOOK, NOT_NOW, FollowUp, LeadScored, Settings, contact_of

#: This flow's buttons and what a click on each is.
_ACTIONS: Final[dict[str, Literal["book", "dismiss"]]] = {BOOK: "book", NOT_NOW: "dismiss"}


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


def accept_click(detail: ButtonClicked, event: BusEvent) -> Sequence[Accepted]:
    """Book them in / Not now on one of this flow's offers; every other button is another flow's."""
    action = _ACTIONS.get(detail.action_id)
    contact = contact_of(detail.value)
    if action is None or contact is None:
        return []
    return [
        Accepted(
            # One booking (or "not now") per offer, whoever clicks: two reps' clicks on one message
            # are one piece of work, as are a double click and Slack's retry.
            event_id=derived_id(action, f"{detail.channel}:{detail.message_ts}"),
            type=f"slack.{action}",
            data=FollowUp(
                action=action,
                contact_id=contact,
                channel=detail.channel,
                message_ts=detail.message_ts,
                user_id=detail.user_id,
            ),
        )
    ]


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
        BusTrigger(
            name="button_clicked",
            detail_types=(BUTTON_CLICKED,),
            model=ButtonClicked,
            accept=accept_click,
            description="a click verified by slack_interactivity: Book them in / Not now",
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
    # A booking is about ten target calls over four steps, and every attempt reads the contact and
    # its owner again first: at one failed call in five, eight attempts ran out for several bookings
    # of a 40-event chaos run. Twelve leave room; an app that is down waits on its circuit instead.
    retry=RetryPolicy(max_attempts=12, base_delay_s=10, max_delay_s=900),
)
