"""website_to_crm under the chaos harness: signed leads from the site's backend (Standard Webhooks).

A lead must cause a HubSpot contact, qualified, with a note; a sales email and an acknowledgement;
and a Slack message (new_lead_notify does the last three, from the ``lead.created`` it emits).

Under ``--reorder`` (``SEQUENCES``), one person submits the form two to four times - a new surname,
a new company, each submission later than the one before (its ``timestamp``) - and the submissions
arrive shuffled and duplicated: the contact must exist once and hold the latest submission's values
(``hubspot.contact``, ``hubspot.latest``). Their addresses and names carry no event key, so the
notes, emails and Slack messages each submission causes are not judged here (the lead path above
judges those); only the contact's final state is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from apps.hubspot.chaos import ExpectedContact, expect_contact
from infra.ops.chaos.config import POISON_MARK
from infra.ops.chaos.generate import LEAD_DOMAIN, rng
from infra.ops.chaos.protocol import EffectKey, EventFactory, Outgoing, Planned
from infra.ops.chaos.state import ChaosRun

__all__ = ["FACTORIES", "SEQUENCES"]

#: When the first submission of a sequence was made; each later one a few minutes after.
_FIRST_SUBMISSION = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def lead(run: ChaosRun, p: Planned) -> Outgoing:
    """A signed lead; ``webhook-id`` is the event id."""
    local = f"{POISON_MARK}-{p.key}" if p.poison else f"chaos-{p.key}"
    body = {
        "type": "form.submitted",
        "timestamp": "2026-11-20T09:14:03.512Z",
        "data": {
            "form_id": "chaos",
            "name": f"Chaos {p.key}",
            "email": f"{local.lower()}@{LEAD_DOMAIN}",
            "company": "Chaos Monkeys Ltd",
            "message": f"Chaos lead {p.key}: a quote for 40 loaves a week, please.",
            "consent": True,
            "utm_source": "chaos",
        },
    }
    return Outgoing(f"msg_chaos{p.seed}n{p.index}", json.dumps(body).encode())


def effects(p: Planned) -> Sequence[EffectKey]:
    kinds = ("hubspot.contact", "hubspot.qualified", "hubspot.note", "ses.sales", "ses.ack", "slack.message")
    return [(kind, p.key) for kind in kinds]


def submissions(p: Planned) -> int:
    """How many times the person submits the form: two to four."""
    return rng(p, "submissions").randint(2, 4)


def _person(p: Planned) -> str:
    """The sequence's address: no event key in it (``R<s>N<i>``), so the lead observers skip it."""
    return f"chaos-seq-{p.seed}x{p.index}@{LEAD_DOMAIN}"


def _values(p: Planned, n: int) -> dict[str, str]:
    return {
        "first_name": "Sam",
        "last_name": f"Version{n + 1}",
        "company": f"Sequence Bakery {p.index}-{n + 1}",
    }


def submission(run: ChaosRun, p: Planned, n: int) -> Outgoing:
    """Submission ``n`` (0-based, in the order the person made them); the contact's expected final
    values (the last submission's) are told to the HubSpot observer on the first build."""
    last = submissions(p) - 1
    final = _values(p, last)
    expect_contact(
        run,
        ExpectedContact(
            p.key,
            _person(p),
            {"firstname": final["first_name"], "lastname": final["last_name"], "company": final["company"]},
        ),
    )
    at = _FIRST_SUBMISSION + timedelta(minutes=7 * n, seconds=p.index % 60)
    body = {
        "type": "form.submitted",
        "timestamp": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "data": {
            "form_id": "chaos",
            **_values(p, n),
            "email": _person(p),
            "message": f"Submission {n + 1} of {last + 1}: our details changed, please update them.",
            "consent": True,
            "utm_source": "chaos",
        },
    }
    return Outgoing(f"msg_chaos{p.seed}s{p.index}v{n}", json.dumps(body).encode())


def _first_submission(run: ChaosRun, p: Planned) -> Outgoing:
    return submission(run, p, 0)


def final_contact(p: Planned) -> Sequence[EffectKey]:
    return [("hubspot.contact", p.key), ("hubspot.latest", p.key)]


FACTORIES = (EventFactory("website_to_crm", "webhook", weight=3.0, build=lead, effects=effects),)
SEQUENCES = (
    EventFactory(
        "website_to_crm",
        "webhook",
        weight=1.0,
        build=_first_submission,
        effects=final_contact,
        versions=submissions,
        build_version=submission,
    ),
)
