"""new_lead_notify under the chaos harness: HubSpot's ``contact.creation`` for contacts made by hand,
and the emails it sends (the sales notification, the lead's acknowledgement) counted per event.

A created contact must cause a sales email and a Slack message. The emails of website_to_crm's
leads are counted here too: new_lead_notify sends them, from the ``lead.created`` they cause.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence

from infra.ops.chaos.generate import LEAD_DOMAIN
from infra.ops.chaos.mail import sent_mail
from infra.ops.chaos.protocol import EffectKey, EventFactory, Outgoing, Planned, event_keys
from infra.ops.chaos.state import ChaosRun

__all__ = ["FACTORIES", "OBSERVERS"]

#: The HubSpot portal of the local settings (``hubspot_portal_id``), as its webhooks carry it.
PORTAL_ID = 24681357
_CONTACTS = "hubspot.contacts"


def _prepared_email(p: Planned) -> str:
    return f"prep-{p.key.lower()}@{LEAD_DOMAIN}"


def precreate_contacts(run: ChaosRun, planned: Sequence[Planned]) -> None:
    """Contacts someone created in HubSpot by hand; HubSpot's webhook then announces each.

    A poison event's contact is not created: HubSpot sends ``contact.creation`` for a contact that
    was deleted straight after, and reading it answers 404 for good.
    """
    sandbox = run.runtime.sandboxes["hubspot"]
    token = str(getattr(sandbox, "token", "sandbox-hubspot-token"))
    wanted = [p for p in planned if not p.poison]
    url = f"{run.runtime.url}/_sandbox/hubspot/crm/v3/objects/contacts/batch/upsert"
    for start in range(0, len(wanted), 100):
        chunk = wanted[start : start + 100]
        inputs = [
            {
                "id": _prepared_email(p),
                "idProperty": "email",
                "properties": {"firstname": "Chaos", "lastname": p.key, "company": "Chaos Monkeys Ltd"},
            }
            for p in chunk
        ]
        answer = run.http.post(url, json={"inputs": inputs}, headers={"authorization": f"Bearer {token}"})
        if answer.status_code != 200:
            raise RuntimeError(
                f"could not create the HubSpot contacts: {answer.status_code} {answer.text[:200]}"
            )
        for result in answer.json()["results"]:
            run.keep(_CONTACTS, result["properties"]["email"], str(result["id"]))


def contact_creation(run: ChaosRun, p: Planned) -> Outgoing:
    """HubSpot's ``contact.creation`` webhook (a JSON array, ``X-HubSpot-Signature-v3``)."""
    contact = run.memory(_CONTACTS).get(_prepared_email(p)) or str(900_000_000 + p.index)
    event = {
        "eventId": 1_000_000 + p.index,
        "subscriptionId": 2981734,
        "portalId": PORTAL_ID,
        "appId": 4127781,
        "occurredAt": int(time.time() * 1000),
        "subscriptionType": "contact.creation",
        "attemptNumber": 0,
        "objectId": int(contact),
        "changeFlag": "CREATED",
        "changeSource": "CRM_UI",
        "sourceId": "userId:41629779",
    }
    # The URL is signed with its scheme; API Gateway tells the function the scheme in this header.
    return Outgoing(
        f"contact:{PORTAL_ID}:{contact}", json.dumps([event]).encode(), {"x-forwarded-proto": "http"}
    )


def effects(p: Planned) -> Sequence[EffectKey]:
    return [("ses.sales", p.key), ("slack.message", p.key)]


def mail_seen(run: ChaosRun) -> Counter[EffectKey]:
    """``ses.ack`` per acknowledgement (to the lead, whose address carries the key); ``ses.sales``
    per notification to the sales inbox (no key in the address, the key in the subject)."""
    seen: Counter[EffectKey] = Counter()
    for mail in sent_mail(run):
        if f"@{LEAD_DOMAIN}" in mail.to:
            seen.update(("ses.ack", k) for k in event_keys(mail.to)[:1])
        elif not event_keys(mail.to):
            seen.update(("ses.sales", k) for k in event_keys(mail.subject)[:1])
    return seen


FACTORIES = (
    EventFactory(
        "new_lead_notify",
        "hubspot",
        weight=1.0,
        build=contact_creation,
        effects=effects,
        prepare=precreate_contacts,
    ),
)
OBSERVERS = (mail_seen,)
