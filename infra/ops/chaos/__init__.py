"""``switchboard chaos``: prove on the local runtime that no event is lost or doubled under faults.

One run, in this process, on free ports of 127.0.0.1:

1. start a :class:`~infra.local.runtime.LocalRuntime` (embedded moto, gateway, pollers, sandboxes);
2. prepare what the events need in the sandboxes (contacts "created in HubSpot by hand", orders rung
   up and paid or refunded in Square, bookings already on the Google calendar for the reschedules
   and cancels) - each event factory's ``prepare``;
3. make the targets flaky - every sandbox app answers a share of the requests with 5xx, with 429 +
   ``Retry-After``, late (the effect happens, the client times out: ``serve_first`` slow faults), or
   with a crash mark (the worker dies after the target acted and before its step is recorded); the
   poison share is refused with a 400 for good (a marker in the payload, or a contact that does not
   exist; a QuickBooks ValidationFault, a Google 400 or 403, a sale in another currency); the OAuth
   apps (QuickBooks, Google) also expire their access tokens every few seconds
   (``token_expiry_s``), so that their token endpoints, under the same faults, are called all along,
   and the apps that keep idempotency keys (QuickBooks' ``requestid``, Xero's ``Idempotency-Key``)
   forget them every few seconds (``key_expiry_s``), so that a create is kept single by the ledger's
   look-up, not by the key; with ``--lag`` every stand-in's list and search reads trail its writes;
4. send N signed webhook events spread over the integrations (the event factories each integration
   brings in ``functions/<name>/chaos.py``), the providers re-sending a share of them - some at the
   same moment from another thread, some later;
5. wait until every queue is empty; clear the faults (poison stays poison: it is the target's
   answer, not a fault); redrive every DLQ; wait again;
6. count the effects the sandboxes and the embedded SES recorded - domain effects, not requests:
   contacts per email, notes per lead, Slack messages per lead, emails per lead, QuickBooks receipts
   per payment or refund (and their totals), Google Calendar events per booking (at the booked
   times, or deleted), booking emails per change - and compare them with what every accepted event
   should have caused, exactly once.

The result is one JSON object (:class:`ChaosReport`); the run fails (exit 1) if an effect is missing
(``lost``), doubled or unexpected, if a poison event is not in a DLQ, if a non-poison event is still
in one after the redrive, or if the queues did not drain in time. Every wait is bounded.

What is counted is what a customer would see: two notes on a contact for one form post are a defect
even when every request was "handled". Identity comes from the events themselves: each event has a
key (``R<seed>N<index>``) that appears in its email address, its name and its message, so an effect
is attributed to its event whatever ids the targets gave it.

The package, by concern: :mod:`.config` (what a run is asked), :mod:`.protocol` (what integrations
and apps bring), :mod:`.discovery` (finding it), :mod:`.generate` and :mod:`.mail` (helpers for
generators and observers), :mod:`.plan`, :mod:`.faults`, :mod:`.run` (sending, draining, redriving),
:mod:`.judge` and :mod:`.report`. Integrations and apps are found, never listed: see
:mod:`.discovery`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.ops.chaos.config import (
    DEFAULT_FAULTS,
    POISON_MARK,
    ChaosConfig,
    FaultRate,
    parse_faults,
)
from infra.ops.chaos.discovery import factories
from infra.ops.chaos.plan import plan
from infra.ops.chaos.protocol import AppChaos, EffectKey, EventFactory, Observer, Outgoing, Planned
from infra.ops.chaos.report import ChaosReport, print_report
from infra.ops.chaos.run import run_chaos
from infra.ops.chaos.state import ChaosRun

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DEFAULT_FAULTS",
    "FACTORIES",
    "POISON_MARK",
    "AppChaos",
    "ChaosConfig",
    "ChaosReport",
    "ChaosRun",
    "EffectKey",
    "EventFactory",
    "FaultRate",
    "Observer",
    "Outgoing",
    "Planned",
    "factories",
    "parse_faults",
    "plan",
    "print_report",
    "run_chaos",
]


def __getattr__(name: str) -> Mapping[tuple[str, str], EventFactory]:
    """``FACTORIES``: every discovered factory by ``(integration, trigger)``, found when first asked
    for (the generators import this package, so they cannot be imported while it loads)."""
    if name == "FACTORIES":
        return {(f.integration, f.trigger): f for f in factories()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
