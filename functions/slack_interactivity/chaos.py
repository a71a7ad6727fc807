"""slack_interactivity under the chaos harness: reps clicking **Book them in** on lead_followup's offers.

Each event is one click, signed as Slack signs it, on an offer made for a contact of its own
(``prepare``: the contact in HubSpot, the offer in Slack, before the faults start). The click goes
through this integration's route and the bus to lead_followup, which must book it once: one
calendar event with the lead as guest (``gcal.meeting``), one HubSpot meeting on the contact
(``hubspot.meeting``), one confirmation email with the ``.ics`` (``ses.invite``) and the offer turned
into "Booked …" (``slack.booked``) - under re-sent clicks (the harness's ``dup``: a double click, or
Slack's retry), late answers (the calendar made the event, the answer was lost) and crashes.

A poison event's contact has an address carrying the poison mark: Google refuses the event for good
and the click ends in lead_followup's DLQ (its ``book:<click id>``), with nothing booked.

The leads' addresses are at :data:`FOLLOWUP_DOMAIN` and carry the event key, which is how the effects
are attributed; offers and names carry none, so no other observer counts them. Every booking takes a
slot of the one calendar (working hours over the settings' ten-day horizon; past them a click is
told "No free slot"), so this factory weighs little beside the others, and it gives lead_followup a
calendar with room for ~1,300 (``EventFactory.settings``: 60 days of 15-minute meetings).
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from apps.hubspot.standin import DEFAULT_TOKEN as HUBSPOT_TOKEN
from apps.slack.standin import DEFAULT_TOKEN as SLACK_TOKEN
from functions.lead_followup.models import BOOK, contact_value
from infra.ops.chaos.config import POISON_MARK
from infra.ops.chaos.generate import compact, token
from infra.ops.chaos.mail import sent_mail
from infra.ops.chaos.protocol import EffectKey, EventFactory, Outgoing, Planned, event_keys
from infra.ops.chaos.state import ChaosRun
from shared.events import derived_id

__all__ = ["FACTORIES", "FOLLOWUP_DOMAIN", "OBSERVERS"]

#: The leads booked by the run have addresses here (no other factory's observer reads it).
FOLLOWUP_DOMAIN = "chaos-followup.example"
#: Sam Owner, in the HubSpot stand-in: the meeting is "with Sam Owner".
OWNER_ID = "41629779"
#: Offers are spread over the channels the app is in: Slack takes about one post a second per channel.
_CHANNELS = ("C0NEWLEADS1", "C0SALES0001", "C0GENERAL01")
_CONTACTS = "lead_followup.contacts"
_OFFERS = "lead_followup.offers"


def _address(p: Planned) -> str:
    local = f"prep-{p.key.lower()}" + (f"-{POISON_MARK}" if p.poison else "")
    return f"{local}@{FOLLOWUP_DOMAIN}"


def prepare(run: ChaosRun, planned: Sequence[Planned]) -> None:
    """A contact and an offer per event, as lead_followup would have left them: the rep's click is
    the event."""
    url = f"{run.runtime.url}/_sandbox/hubspot/crm/v3/objects/contacts/batch/upsert"
    for start in range(0, len(planned), 100):
        chunk = planned[start : start + 100]
        inputs = [
            {
                "id": _address(p),
                "idProperty": "email",
                "properties": {"firstname": "Chaos", "lastname": p.key, "hubspot_owner_id": OWNER_ID},
            }
            for p in chunk
        ]
        answer = run.http.post(
            url, json={"inputs": inputs}, headers={"authorization": f"Bearer {HUBSPOT_TOKEN}"}
        )
        if answer.status_code != 200:
            raise RuntimeError(
                f"could not create the HubSpot contacts: {answer.status_code} {answer.text[:200]}"
            )
        by_email = {str(r["properties"]["email"]): str(r["id"]) for r in answer.json()["results"]}
        for p in chunk:
            run.keep(_CONTACTS, p.key, by_email[_address(p)])
    for n, p in enumerate(planned):
        run.keep(_OFFERS, p.key, _offer(run, _CHANNELS[n % len(_CHANNELS)], run.memory(_CONTACTS)[p.key]))


def _offer(run: ChaosRun, channel: str, contact: str) -> tuple[str, str]:
    """Post one offer with lead_followup's two buttons; ``(channel, ts)``. Slack's 429 is waited out."""
    button = {"type": "button", "text": {"type": "plain_text", "text": "Book them in"}, "action_id": BOOK}
    body = {
        "channel": channel,
        "text": "Hot lead: a chaos-run lead scored 82",
        "blocks": [{"type": "actions", "elements": [{**button, "value": contact_value(contact)}]}],
    }
    for _ in range(30):
        answer = run.http.post(
            f"{run.runtime.url}/_sandbox/slack/chat.postMessage",
            json=body,
            headers={"authorization": f"Bearer {SLACK_TOKEN}"},
        )
        if answer.status_code == 429:
            time.sleep(float(answer.headers.get("retry-after", "1")))
            continue
        posted = answer.json()
        if answer.status_code != 200 or not posted.get("ok"):
            raise RuntimeError(f"could not post the offer: {answer.status_code} {answer.text[:200]}")
        return str(posted["channel"]), str(posted["ts"])
    raise RuntimeError("could not post the offer: Slack kept answering 429")


def click(run: ChaosRun, p: Planned) -> Outgoing:
    """Slack's ``block_actions`` request for Book them in on the event's offer (form ``payload=``).

    The event id is the one lead_followup keys the booking on: a poison click is found in its DLQ.
    """
    channel, ts = run.memory(_OFFERS)[p.key]
    contact = run.memory(_CONTACTS)[p.key]
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": "U07SAMREP1", "username": "sam.owner", "name": "sam.owner", "team_id": "T0BRAMBLE1"},
        "api_app_id": "A0SWITCHBD1",
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
        "trigger_id": f"13345224609.738474920.{token(p, 'trigger', 19).lower()}",
        "team": {"id": "T0BRAMBLE1", "domain": "bramble-bakery"},
        "channel": {"id": channel},
        "message": {"type": "message", "ts": ts, "text": "Hot lead: a chaos-run lead scored 82"},
        "response_url": f"https://hooks.slack.com/actions/T0BRAMBLE1/{token(p, 'response', 12)}",
        "actions": [
            {
                "action_id": BOOK,
                "block_id": token(p, "block", 5),
                "type": "button",
                "value": contact_value(contact),
                "action_ts": f"{int(run.t0)}.{p.index:06d}",
            }
        ],
    }
    body = urlencode({"payload": compact(payload).decode()}).encode()
    booking = derived_id("book", f"{channel}:{ts}")
    return Outgoing(booking, body, {"content-type": "application/x-www-form-urlencoded"})


def effects(p: Planned) -> Sequence[EffectKey]:
    return [(kind, p.key) for kind in ("gcal.meeting", "hubspot.meeting", "ses.invite", "slack.booked")]


def booked(run: ChaosRun) -> Counter[EffectKey]:
    """Per lead of the run: live calendar events with it as guest, HubSpot meetings on its contact,
    confirmation emails to it, and whether its offer says "Booked"."""
    seen: Counter[EffectKey] = Counter()
    contacts: dict[str, str] = run.memory(_CONTACTS)
    if not contacts:
        return seen  # not in this run
    sandboxes: Any = run.runtime.sandboxes
    with sandboxes["google_calendar"].lock:
        events = [
            copy.deepcopy(e) for c in sandboxes["google_calendar"].calendars.values() for e in c.values()
        ]
    for event in events:
        if event.get("status") == "cancelled":
            continue
        for guest in event.get("attendees") or []:
            address = str(guest.get("email", ""))
            if address.endswith(f"@{FOLLOWUP_DOMAIN}"):
                seen.update(("gcal.meeting", k) for k in event_keys(address)[:1])
    key_of = {contact: key for key, contact in contacts.items()}
    with sandboxes["hubspot"].lock:
        meetings = [
            list(r.associations.get("contacts", []))
            for r in sandboxes["hubspot"].objects["meetings"].values()
        ]
    for associated in meetings:
        seen.update(("hubspot.meeting", key_of[c]) for c in associated if c in key_of)
    for mail in sent_mail(run):
        if f"@{FOLLOWUP_DOMAIN}" in mail.to:
            seen.update(("ses.invite", k) for k in event_keys(mail.to)[:1])
    with sandboxes["slack"].lock:
        texts = {(m["channel"], m["ts"]): str(m.get("text", "")) for m in sandboxes["slack"].messages}
    for key, (channel, ts) in run.memory(_OFFERS).items():
        if texts.get((channel, ts), "").startswith("Booked "):
            seen[("slack.booked", key)] += 1
    return seen


FACTORIES = (
    EventFactory(
        "slack_interactivity",
        "slack",
        weight=0.5,
        build=click,
        effects=effects,
        prepare=prepare,
        dlq="lead_followup",
        # Room on the one calendar for every click a run makes: the local settings' 10 days of
        # 30-minute meetings 15 minutes apart hold 56, and a 4,000-event soak clicks ~120 offers -
        # the rest were told "No free slot" and counted as lost bookings.
        settings={"lead_followup": {"horizon_days": 60, "buffer_minutes": 0, "meeting_minutes": 15}},
    ),
)
OBSERVERS = (booked,)
