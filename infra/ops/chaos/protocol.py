"""The contract between the harness and what integrations and apps bring to it.

An integration's ``functions/<name>/chaos.py`` defines ``FACTORIES``, a tuple of
:class:`EventFactory` - how its providers make events and what each must cause - may define
``SEQUENCES``, factories of entities changed several times (used with ``--reorder``), and may define
``OBSERVERS``, a tuple of :data:`Observer` counting effects no app records (the emails it sends
through SES). An app's ``apps/<app>/chaos.py`` defines ``CHAOS``, an :class:`AppChaos`: how the app
refuses poison, where its API is, and an observer of the effects its stand-in records. The harness
finds both (:mod:`infra.ops.chaos.discovery`); nothing in it names an integration or an app.

An effect is a ``(kind, event key)`` pair, ``("slack.message", "R7N12")``: what a customer would see,
attributed to the event whose key (:attr:`Planned.key`) it carries. Some kinds are not things the
targets hold but checks on one of them - the contact has an owner and a lifecycle stage, the receipt
the right total, the calendar event the booked times: each app names its own in
:attr:`AppChaos.checks`. A check can only pass or fail, once per event; the judge counts it apart
from the effects, so that it neither inflates the effect count nor counts as a doubled effect.

Some effects cannot double because the target itself refuses a second one - a contact upserted by its
email, a calendar event under a client-chosen id (a second insert is ``409 duplicate``): each app
names those kinds in :attr:`AppChaos.structural`. They are still judged (missing, doubled or
unexpected fails the run as for any effect), but counted apart from the headline effect count: their
"exactly once" is the provider's, not something the run proves about Switchboard.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from infra.ops.chaos.state import ChaosRun

__all__ = ["AppChaos", "EffectKey", "EventFactory", "Observer", "Outgoing", "Planned", "event_keys"]

EffectKey = tuple[str, str]  # (kind, event key): ("slack.message", "R7N12")
#: Counts the effects one app (or service) recorded, once the run has drained.
Observer = Callable[[ChaosRun], Counter[EffectKey]]

_KEY = re.compile(r"r(\d+)n(\d+)", re.IGNORECASE)


def event_keys(text: str) -> list[str]:
    """The event keys written in ``text`` (an address, a subject, a note), in order, as ``R<s>N<i>``."""
    return [f"R{m.group(1)}N{m.group(2)}" for m in _KEY.finditer(text)]


@dataclass(frozen=True)
class Planned:
    """One event of the run."""

    index: int
    seed: int
    factory: EventFactory
    poison: bool

    @property
    def key(self) -> str:
        """``R<seed>N<index>``: written into the event so that its effects can be attributed to it."""
        return f"R{self.seed}N{self.index}"


@dataclass(frozen=True)
class Outgoing:
    """What a provider POSTs for one event (signed per delivery: a re-send is signed afresh)."""

    event_id: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EventFactory:
    """How one integration trigger's provider makes events, and what each must cause.

    ``build`` makes the request body (and the event id Switchboard will key it on); ``effects`` names
    the effects a non-poison event must cause once each, as ``(kind, key)`` pairs the observers
    count; ``prepare`` sets the sandboxes up before the faults start (``None``: no set-up). A poison
    event must cause no effect and end in ``dlq`` (the integration's DLQ).
    """

    integration: str
    trigger: str
    weight: float
    build: Callable[[ChaosRun, Planned], Outgoing]
    effects: Callable[[Planned], Sequence[EffectKey]]
    prepare: Callable[[ChaosRun, Sequence[Planned]], None] | None = None
    #: Which DLQ a poison event of this factory must end in (default: the integration's own).
    dlq: str | None = None
    #: Whether the factory can make a poison event at all. One whose targets refuse nothing for good
    #: (inventory_sync: a sale is a count either side takes) must say so, or the plan would expect
    #: dead letters its events cannot produce and count their effects as unexpected.
    poisonable: bool = True
    #: Settings fields the factory's events need, per integration, laid over the local settings for
    #: the run (under the run's own ``--setting``, which wins): e.g. a calendar with room for every
    #: booking the run makes, where the local settings leave room for a demo's handful.
    settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: A *sequence* factory (``SEQUENCES`` of a ``chaos.py``): each event is one entity changed
    #: several times - ``versions(p)`` deliveries, each a distinct provider event, built in their
    #: true order by ``build_version(run, p, n)`` (``build`` is version 0). The plan delivers them
    #: shuffled and duplicated (``--reorder``); ``effects`` names the entity's *final* state.
    versions: Callable[[Planned], int] | None = None
    build_version: Callable[[ChaosRun, Planned, int], Outgoing] | None = None
    #: The factory as it must be under its integration's settings for the run (``settings.local.json``
    #: with ``--setting`` laid over it): what an event must cause may depend on a deployment choice -
    #: pos_to_accounting books a sale as a QuickBooks receipt or a Xero invoice, as
    #: ``accounting_app`` says. The harness calls it once per run, before planning; ``None``: the
    #: factory is the same under any settings.
    configure: Callable[[Mapping[str, Any]], EventFactory] | None = None

    def outgoing(self, run: ChaosRun, p: Planned, version: int = 0) -> Outgoing:
        """What the provider sends for ``version`` of ``p`` (0 for a one-change event)."""
        if version and self.build_version is None:
            raise ValueError(f"{self.integration}.{self.trigger} has no versions beyond the first")
        return self.build_version(run, p, version) if self.build_version is not None else self.build(run, p)

    def count(self, p: Planned) -> int:
        """How many distinct provider events ``p`` is (1 unless a sequence)."""
        return self.versions(p) if self.versions is not None else 1


@dataclass(frozen=True)
class AppChaos:
    """What the harness needs to know of one app (``apps/<app>/chaos.py`` ``CHAOS``).

    ``poison_body`` is what the app answers, with a 400, to a request carrying the poison mark - its
    own error shape, so the client sees a refusal it knows to be permanent (``None``: an empty body).
    ``api_path`` is where the API lives when the app also has an OAuth token endpoint: late answers
    and crashes are kept to it unless the run asks for token-endpoint faults. ``observe`` counts the
    effects the app's stand-in recorded; ``checks`` names the kinds it reports that are checks on
    another effect (passed or not, once per event: see the module docstring), not effects;
    ``structural`` the effect kinds the target itself keeps single (an upsert by a unique key, a
    client-chosen id refused as a duplicate): judged as any effect, counted apart from the headline.
    """

    poison_body: Mapping[str, Any] | None = None
    api_path: str | None = None
    observe: Observer | None = None
    checks: tuple[str, ...] = ()
    structural: tuple[str, ...] = ()
    #: The stand-in's control path that forgets its idempotency keys (QuickBooks'
    #: ``/_requestids/expire``): the harness calls it every ``ChaosConfig.key_expiry_s``, as once the
    #: provider's (undocumented) retention has passed, so that "booked once" must rest on the ledger's
    #: look-up, not on the key. ``None``: the app keeps no such keys.
    key_expiry: str | None = None
    #: What the ledger's look-ups did for this app, read once the run drained (``answers_lost``,
    #: ``found_by_lookup``, ``created_again``, ``lookups``); ``None``: nothing to say.
    lookups: Callable[[ChaosRun], Mapping[str, int]] | None = None
    #: The environment variable through which the app's flows take the lag they assume of its list
    #: reads (Slack's history: ``SWITCHBOARD_SLACK_HISTORY_LAG_S``). A run without ``--lag`` sets it
    #: to 0 - its stand-ins' reads do not lag, so nothing is waited for; a run with one unsets it, so
    #: that the flows' own assumption is what the run tests.
    lag_env: str | None = None
