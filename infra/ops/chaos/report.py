"""The run's result: one JSON object (``--json``), or a table for people."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

__all__ = ["ChaosReport", "by_kind", "print_report", "print_verdict", "structural_line"]


@dataclass
class ChaosReport:
    """The run's result; ``ok`` is what the exit status says."""

    ok: bool = False
    events: int = 0
    seed: int = 0
    faults: dict[str, Any] = field(default_factory=dict)
    integrations: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    deliveries: int = 0
    duplicates_sent: int = 0
    accepted: int = 0
    not_accepted: int = 0
    poison_sent: int = 0
    #: Distinct effects (things the targets hold) expected, and the number seen - checks and
    #: structural kinds left out.
    effects_expected: int = 0
    effects_observed: int = 0
    #: Effects the targets themselves keep single (a contact upserted by email, a calendar event under
    #: a client-chosen id): judged as effects, counted apart from the headline.
    structural_expected: int = 0
    structural_observed: int = 0
    #: Checks on those effects (owner and stage set, right total, booked times: at most one per event
    #: and kind) expected, and passed.
    checks_expected: int = 0
    checks_passed: int = 0
    #: kind -> {"expected", "observed", "check", "structural"}.
    by_kind: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicate_effects: int = 0
    unexpected_effects: int = 0
    effects_missing: int = 0
    lost: int = 0
    dlq_poison: int = 0
    poison_missing: int = 0
    dlq_other: int = 0
    #: "integration: error" -> dead letters other than poison in the DLQs when judged.
    dlq_reasons: dict[str, int] = field(default_factory=dict)
    dlq_before_redrive: int = 0
    #: Dead letters other than poison once the queues drained: each one a redrive an operator would
    #: have had to press (an outage run presses none and fails on any).
    redrives_needed: int = 0
    #: "integration: error" -> those dead letters other than poison, as found before any redrive.
    redrives_needed_why: dict[str, int] = field(default_factory=dict)
    redriven: int = 0
    #: Wall seconds per simulated second (back-offs, outages), and that in words.
    time_scale: float = 0.0
    compression: str = ""
    #: Per outage: app, duration (simulated and wall), events that waited through it.
    outages: list[dict[str, Any]] = field(default_factory=list)
    #: Whether multi-change entities were delivered shuffled and duplicated; how many, how many changes.
    reorder: bool = False
    entities: int = 0
    entity_versions: int = 0
    #: What each stand-in allowed (its provider's published rate limits) and how much it refused.
    rate_limits: list[str] = field(default_factory=list)
    faults_served: dict[str, int] = field(default_factory=dict)
    #: The same, per sandbox app (apps that served none are left out).
    faults_by_app: dict[str, dict[str, int]] = field(default_factory=dict)
    crashes: int = 0
    runtime_errors: int = 0
    #: Per OAuth app: access-token expiries forced, refreshes served, refusals (``invalid_grant`` ...).
    oauth: dict[str, Any] = field(default_factory=dict)
    #: Per app with idempotency keys: how often they were forgotten (``expiries``), how many
    #: (``forgotten``), creates whose answer was lost (``answers_lost``), of those the ones the ledger's
    #: look-up found (``found_by_lookup``) and the ones created again under the key (``created_again``),
    #: and the look-ups answered (``lookups``).
    keys: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Eventual consistency: wall seconds a list or search read trails the writes (0: off), and per
    #: stand-in how many reads left a record out because it was too new.
    lag_s: float = 0.0
    hidden_reads: dict[str, int] = field(default_factory=dict)
    drained: bool = False
    send_s: float = 0.0
    drain_s: float = 0.0
    elapsed_s: float = 0.0
    events_per_s: float = 0.0
    examples: dict[str, list[str]] = field(default_factory=dict)
    #: Every failure as a sentence naming the event and the effect kind (the first 20).
    failures: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def print_report(report: ChaosReport, out: TextIO) -> None:
    """The human-readable form (``--json`` prints :meth:`ChaosReport.as_json` instead)."""
    rows = [
        ("events sent / accepted", f"{report.sent} / {report.accepted}  ({report.duplicates_sent} re-sent)"),
        ("effects expected / observed", f"{report.effects_expected:,} / {report.effects_observed:,}"),
        ("structural expected / observed", structural_line(report)),
        (
            "checks passed / expected",
            f"{report.checks_passed:,} / {report.checks_expected:,}  (at most 1 per event: "
            f"{', '.join(k for k, r in report.by_kind.items() if r['check']) or '-'})",
        ),
        ("by kind (observed / expected)", by_kind(report.by_kind)),
        ("lost (events with a missing effect)", str(report.lost)),
        ("duplicate effects", str(report.duplicate_effects)),
        ("unexpected effects", str(report.unexpected_effects)),
        ("poison in DLQ / missing", f"{report.dlq_poison} / {report.poison_missing}"),
        (
            "other dead letters" + ("" if report.outages else " after redrive"),
            f"{report.dlq_other} (redrives needed: {report.redrives_needed}, pressed: {report.redriven})",
        ),
        ("why (other dead letters)", ", ".join(f"{k} {v}" for k, v in report.dlq_reasons.items()) or "-"),
        (
            "why (redrives needed)",
            ", ".join(f"{k} {v}" for k, v in report.redrives_needed_why.items()) or "-",
        ),
        ("time", report.compression or "-"),
        (
            "outages (events that waited)",
            ", ".join(
                f"{o['app']} {o['duration']} = {o['wall_s']:g} s wall ({o['events_waited']:,})"
                for o in report.outages
            )
            or "-",
        ),
        (
            "entities reordered (changes)",
            f"{report.entities:,} ({report.entity_versions:,} changes, shuffled and duplicated)"
            if report.reorder
            else "-",
        ),
        ("faults served", ", ".join(f"{k} {v}" for k, v in sorted(report.faults_served.items())) or "-"),
        ("crashed invocations", str(report.crashes)),
        (
            "idempotency keys forgotten (look-ups)",
            ", ".join(
                f"{app} {k.get('forgotten', 0):,} in {k.get('expiries', 0)} expiries "
                f"({k.get('answers_lost', 0)} answers lost: {k.get('found_by_lookup', 0)} found by the "
                f"ledger's look-up, {k.get('created_again', 0)} created again under the key)"
                for app, k in report.keys.items()
            )
            or "-",
        ),
        (
            "eventual consistency (hidden reads)",
            (
                f"list and search reads trail writes by {report.lag_s:g} s ("
                + (", ".join(f"{a} {n:,}" for a, n in report.hidden_reads.items()) or "none hidden")
                + ")"
            )
            if report.lag_s
            else "off",
        ),
        (
            "OAuth refreshes (token expiries)",
            ", ".join(f"{a} {o['refreshes']} ({o['access_token_expiries']})" for a, o in report.oauth.items())
            or "-",
        ),
        ("elapsed", f"{report.elapsed_s} s ({report.events_per_s} events/s until drained)"),
    ]
    for label, value in rows:
        out.write(f"{label:<38} {value}\n")
    if report.rate_limits:
        out.write("rates each target allowed\n")
        for line in report.rate_limits:
            out.write(f"  {line}\n")
    print_verdict(report.ok, report.failures, out)


def by_kind(kinds: dict[str, dict[str, Any]]) -> str:
    """``hubspot.contact 120/120 (structural), hubspot.qualified 120/120 (check), ...``"""
    return (
        ", ".join(f"{kind} {r['observed']:,}/{r['expected']:,}{_mark(r)}" for kind, r in kinds.items()) or "-"
    )


def _mark(row: dict[str, Any]) -> str:
    if row.get("check"):
        return " (check)"
    return " (structural)" if row.get("structural") else ""


def structural_line(report: Any) -> str:
    """``120 / 120  (not in the effects above: the target keeps them single - hubspot.contact)``"""
    kinds = ", ".join(k for k, r in report.by_kind.items() if r.get("structural"))
    if not kinds:
        return f"{report.structural_expected:,} / {report.structural_observed:,}"
    return (
        f"{report.structural_expected:,} / {report.structural_observed:,}  (not in the effects above: "
        f"the target itself keeps them single - {kinds})"
    )


def print_verdict(ok: bool, failures: list[str], out: TextIO) -> None:
    """The last lines of a harness's report: OK, or FAILED and each failure (event and kind)."""
    if ok:
        out.write("OK: nothing lost, nothing doubled\n")
        return
    out.write("FAILED" + (":\n" if failures else "\n"))
    for line in failures:
        out.write(f"  {line}\n")
