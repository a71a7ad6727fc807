"""website_to_crm under the chaos harness: signed leads from the site's backend (Standard Webhooks).

A lead must cause a HubSpot contact, qualified, with a note; a sales email and an acknowledgement;
and a Slack message (new_lead_notify does the last three, from the ``lead.created`` it emits).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from infra.ops.chaos.config import POISON_MARK
from infra.ops.chaos.generate import LEAD_DOMAIN
from infra.ops.chaos.protocol import EffectKey, EventFactory, Outgoing, Planned
from infra.ops.chaos.state import ChaosRun

__all__ = ["FACTORIES"]


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


FACTORIES = (EventFactory("website_to_crm", "webhook", weight=3.0, build=lead, effects=effects),)
