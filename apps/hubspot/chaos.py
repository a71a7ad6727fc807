"""HubSpot under the chaos harness: how it refuses poison, and the CRM effects its stand-in records.

A contact counts as made by the run when its email starts with ``chaos-`` (the leads' addresses);
contacts prepared before the run (``prep-``) are set-up, not effects. A new lead is qualified when
it has an owner (round robin) and a lifecycle stage - what website_to_crm's ``qualify`` step sets on
a contact it created (``hubspot.qualified``, a check on the contact, not an effect of its own).

A contact submitted several times (``--reorder``: one email, several submissions delivered in any
order) is told to the observer with :func:`expect_contact`: it must exist once
(``hubspot.contact``) and hold the *latest* submission's values (``hubspot.latest``, a check).

``hubspot.contact`` is *structural*: contacts are upserted by email, HubSpot's unique property, so the
target itself cannot hold two - a contact is judged lost or unexpected as any effect, but counted
apart from the headline effect count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.ops.chaos.protocol import AppChaos, EffectKey, event_keys
from infra.ops.chaos.state import ChaosRun

__all__ = ["CHAOS", "ExpectedContact", "expect_contact"]

_CONTACTS = "hubspot.expected_contacts"


@dataclass(frozen=True)
class ExpectedContact:
    """Where one contact submitted several times must end: once, with the latest values."""

    key: str
    email: str
    #: HubSpot properties of the latest submission (``firstname``, ``lastname``, ``company`` ...).
    latest: Mapping[str, str]


def expect_contact(run: ChaosRun, contact: ExpectedContact) -> None:
    run.remember(_CONTACTS, contact.key, lambda: contact)


POISON_BODY = {
    "status": "error",
    "message": "Property values were not valid: the lead is marked as poison by the chaos run",
    "correlationId": "00000000-0000-4000-8000-000000000000",
    "category": "VALIDATION_ERROR",
}


def effects_seen(run: ChaosRun) -> Counter[EffectKey]:
    seen: Counter[EffectKey] = Counter()
    sandbox: Any = run.runtime.sandboxes["hubspot"]
    with sandbox.lock:
        contacts = [dict(c.properties) for c in sandbox.contacts.values()]
        notes = [dict(n.properties) for n in sandbox.notes.values()]
    for props in contacts:
        email = props.get("email", "")
        if email.startswith("chaos-"):
            seen.update(("hubspot.contact", k) for k in event_keys(email)[:1])
            if props.get("hubspot_owner_id") and props.get("lifecyclestage"):
                seen.update(("hubspot.qualified", k) for k in event_keys(email)[:1])
    for props in notes:
        seen.update(("hubspot.note", k) for k in event_keys(props.get("hs_note_body", ""))[:1])
    expected: Mapping[str, ExpectedContact] = run.memory(_CONTACTS)
    by_email: dict[str, list[dict[str, Any]]] = {}
    for props in contacts:
        by_email.setdefault(str(props.get("email", "")).lower(), []).append(props)
    for key, want in expected.items():
        found = by_email.get(want.email.lower(), [])
        seen[("hubspot.contact", key)] += len(found)
        if any(all(props.get(k) == v for k, v in want.latest.items()) for props in found):
            seen[("hubspot.latest", key)] += 1
    return seen


CHAOS = AppChaos(
    poison_body=POISON_BODY,
    observe=effects_seen,
    checks=("hubspot.qualified", "hubspot.latest"),
    # Upserted by email, HubSpot's unique property: the stand-in (as HubSpot) never holds two.
    structural=("hubspot.contact",),
)
