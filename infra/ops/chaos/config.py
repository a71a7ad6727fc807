"""What a chaos run is asked to do: how many events, which seed, which faults at which rates."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.ops.target import CliError

__all__ = [
    "CLIENT_TIMEOUT_S",
    "DEFAULT_FAULTS",
    "DEFAULT_TIME_SCALE",
    "LATE_BY_S",
    "OUTAGE_WALL_S",
    "POISON_MARK",
    "PROVIDER_FAULTS",
    "TARGET_FAULTS",
    "ChaosConfig",
    "FaultRate",
    "Outage",
    "parse_duration",
    "parse_faults",
    "parse_outage",
    "parse_setting",
]

#: Fault kinds of ``--faults`` that the target apps inject, and the ones the providers cause.
TARGET_FAULTS = ("5xx", "429", "timeout", "crash")
PROVIDER_FAULTS = ("dup", "poison")
DEFAULT_FAULTS = "5xx=0.2,429=0.05,timeout=0.02,dup=0.1,poison=0.01,crash=0.01"
#: Marks a payload every target refuses (the sandboxes get a permanent 400 rule for it).
POISON_MARK = "chaos-poison"
#: The API clients' read timeout during a run, and how late a "timeout" answer comes.
CLIENT_TIMEOUT_S = 2.0
LATE_BY_S = 1.0
#: Back-offs (and outages) run at this share of their real length: a 10 s back-off waits 0.2 s.
DEFAULT_TIME_SCALE = 0.02
#: With outages, the time scale is chosen so that the longest lasts about this long in wall time
#: (a three-day outage in four minutes), unless the run names its own scale.
OUTAGE_WALL_S = 240.0
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


@dataclass(frozen=True)
class FaultRate:
    rate: float
    #: Sandbox apps the fault is limited to; empty: every app.
    apps: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outage:
    """One target app down for good - every request answered 503 - for ``duration_s`` of simulated
    time (``duration_s x time_scale`` of wall time), then back."""

    app: str
    duration_s: float
    #: The text it was given as (``3d``), for the report.
    text: str = ""


@dataclass(frozen=True)
class ChaosConfig:
    events: int
    seed: int
    faults: Mapping[str, FaultRate]
    #: Seconds to wait for the queues to drain, each time (after sending, after the redrive).
    drain_timeout_s: float = 600.0
    #: Threads sending webhooks, like several providers at once.
    senders: int = 8
    #: Messages allowed to wait in the queues before the providers slow down (moto's SQS scans its
    #: queue on every receive: a backlog of thousands would measure moto, not Switchboard).
    backlog: int = 300
    #: Only these integrations' factories (default: every integration that has one).
    integrations: tuple[str, ...] = ()
    #: Every this many seconds the OAuth apps in play (QuickBooks, Google) expire their access
    #: tokens, so that the token endpoints - under the same faults - are called throughout the run,
    #: not once at its start (0: never).
    token_expiry_s: float = 5.0
    #: Every this many (wall) seconds the apps that keep idempotency keys (QuickBooks' ``requestid``,
    #: Xero's ``Idempotency-Key``: :attr:`AppChaos.key_expiry`) forget those answered at least
    #: ``lag_s`` ago, as once the provider's undocumented retention has passed - so that "booked once"
    #: rests on the ledger's look-up, not on the key (0: never). Only keys older than the lag: a
    #: provider that kept its keys a shorter time than its index trails writes would defeat both
    #: guards at once, the gap docs/provider-guarantees.md states.
    key_expiry_s: float = 5.0
    #: Eventual consistency (``--lag``): every stand-in's list and search reads leave out a record
    #: for this many wall seconds after it was written (:mod:`sandbox.consistency`; 0: off).
    lag_s: float = 0.0
    #: Whether late answers and crashes also hit the OAuth token endpoints (5xx and 429 always do).
    #: Off by default: a provider that spends a refresh token the moment it answers (Intuit's
    #: rotation; the QuickBooks sandbox) loses the connection to *any* client whose refresh answer is
    #: lost - no retry can recover a token it never received. Turned on, the run shows exactly that
    #: (``connection_revoked`` dead letters naming the lost answer); see ``shared/oauth.py``.
    token_endpoint_faults: bool = False
    #: Target apps taken down for a while during the sending (``--outage app=DURATION``).
    outages: tuple[Outage, ...] = ()
    #: Multi-change entities (bookings rescheduled and cancelled, payments refunded, contacts
    #: submitted again) with their changes delivered shuffled and duplicated (``--reorder``).
    reorder: bool = False
    #: The share of real time a back-off or an outage lasts (``None``: :data:`DEFAULT_TIME_SCALE`,
    #: or with outages the scale that makes the longest last :data:`OUTAGE_WALL_S`).
    time_scale: float | None = None
    #: integration -> settings fields laid over its ``settings.local.json`` for the run
    #: (``--setting pos_to_accounting.accounting_app=xero``): a deployment choice under chaos.
    settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Where the functions' log lines are written (one JSON-lines file per integration) and left
    #: after the run (``--keep-logs``), so a dead letter or a doubled effect can be followed by its
    #: event id; ``None``: a temporary folder removed at the end.
    logs_dir: str | None = None

    @property
    def scale(self) -> float:
        """The time compression in effect: wall seconds per simulated second."""
        if self.time_scale is not None:
            return self.time_scale
        if self.outages:
            longest = max(o.duration_s for o in self.outages)
            return min(DEFAULT_TIME_SCALE, OUTAGE_WALL_S / longest)
        return DEFAULT_TIME_SCALE

    def rate(self, kind: str) -> float:
        fault = self.faults.get(kind)
        return fault.rate if fault else 0.0

    def applies(self, kind: str, app: str) -> bool:
        """Whether fault ``kind`` is on at all and reaches sandbox app ``app``."""
        fault = self.faults.get(kind)
        return bool(fault and fault.rate > 0 and (not fault.apps or app in fault.apps))


def parse_faults(text: str) -> dict[str, FaultRate]:
    """``5xx=0.2,429=0.05,timeout=0.02@hubspot+peopledatalabs,dup=0.1`` -> rates (and app scopes)."""
    known = (*TARGET_FAULTS, *PROVIDER_FAULTS)
    faults: dict[str, FaultRate] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, eq, value = part.partition("=")
        rate_text, _, scope = value.partition("@")
        name = name.strip().lower()
        if not eq or name not in known:
            raise CliError(f"--faults {part!r}: expected kind=rate with kind one of {', '.join(known)}")
        try:
            rate = float(rate_text)
        except ValueError:
            raise CliError(f"--faults {part!r}: {rate_text!r} is not a number between 0 and 1") from None
        if not 0 <= rate <= 1 or math.isnan(rate):
            raise CliError(f"--faults {part!r}: the rate must be between 0 and 1")
        apps = tuple(a.strip() for a in scope.split("+") if a.strip())
        if apps and name in PROVIDER_FAULTS:
            raise CliError(f"--faults {part!r}: {name} is the provider's doing; it takes no @apps")
        faults[name] = FaultRate(rate, apps)
    if sum(faults[k].rate for k in TARGET_FAULTS if k in faults) > 0.9:
        raise CliError("--faults: the target faults add up to more than 0.9; nothing would get through")
    return faults


def parse_duration(text: str) -> float:
    """``90s``, ``45m``, ``6h``, ``3d`` (or a bare number of seconds) -> seconds."""
    value = text.strip().lower()
    unit = _UNITS.get(value[-1:], 0)
    number = value[:-1] if unit else value
    try:
        seconds = float(number) * (unit or 1)
    except ValueError:
        raise CliError(f"{text!r} is not a duration: use a number with s, m, h or d (3d, 6h, 90m)") from None
    if not 0 < seconds <= 30 * 86_400 or math.isnan(seconds):
        raise CliError(f"{text!r}: an outage lasts more than 0 s and at most 30 days")
    return seconds


def parse_outage(text: str) -> Outage:
    """``quickbooks=3d`` -> an :class:`Outage` (the app is checked against the stand-ins by the run)."""
    app, eq, duration = text.partition("=")
    if not eq or not app.strip():
        raise CliError(f"--outage {text!r}: expected app=DURATION, e.g. quickbooks=3d")
    return Outage(app.strip().lower(), parse_duration(duration), duration.strip())


def parse_setting(text: str) -> tuple[str, str, Any]:
    """``pos_to_accounting.accounting_app=xero`` -> (integration, field, value); the value is JSON if
    it parses as JSON (``3``, ``true``, ``{"square": "091"}``), else the text itself."""
    name, eq, raw = text.partition("=")
    integration, dot, setting = name.strip().partition(".")
    if not eq or not dot or not integration or not setting:
        raise CliError(
            f"--setting {text!r}: expected INTEGRATION.FIELD=VALUE, e.g. pos_to_accounting.accounting_app=xero"
        )
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return integration, setting, value
