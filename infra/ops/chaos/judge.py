"""Judging a drained run: every accepted event's effects exactly once, poison in its DLQ, no other
dead letter. What is counted is what a customer would see, so the observers count domain effects
(contacts, notes, messages, receipts, calendar events, emails), not requests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from infra.ops.chaos.discovery import observers
from infra.ops.chaos.protocol import EffectKey, Planned
from infra.ops.chaos.report import ChaosReport
from infra.ops.chaos.state import ChaosRun

__all__ = ["judge"]


def judge(
    run: ChaosRun,
    events: Sequence[Planned],
    letters: Mapping[str, list[tuple[str, str]]],
    report: ChaosReport,
) -> None:
    """Fill in ``report``'s counts and verdict from what the observers saw and what the DLQs hold."""
    observed: Counter[EffectKey] = Counter()
    for observe in observers():
        observed.update(observe(run))
    accepted = [p for p in events if any(200 <= s < 300 for s in run.results.get(p.index, []))]
    report.accepted = len(accepted)
    report.not_accepted = len(events) - len(accepted)
    in_dlq: dict[str, set[str]] = {name: {e for e, _ in found} for name, found in letters.items()}
    expected: set[EffectKey] = set()
    lost: list[str] = []
    poison_missing: list[str] = []
    for p in accepted:
        event_id = p.factory.build(run, p).event_id
        if p.poison:
            if event_id in in_dlq.get(p.factory.dlq or p.factory.integration, set()):
                report.dlq_poison += 1
            else:
                poison_missing.append(p.key)
            continue
        keys = list(p.factory.effects(p))
        expected.update(keys)
        missing = [k for k in keys if observed[k] == 0]
        report.effects_missing += len(missing)
        if missing:
            lost.append(f"{p.key} ({event_id}): no {', '.join(kind for kind, _ in missing)}")
    report.poison_missing = len(poison_missing)
    poison_ids = {p.factory.build(run, p).event_id for p in events if p.poison}
    report.dlq_other = sum(1 for found in letters.values() for e, _ in found if e not in poison_ids)
    report.lost = len(lost)
    report.effects_expected = len(expected)
    report.effects_observed = sum(observed.values())
    doubled = {k: c for k, c in observed.items() if k in expected and c > 1}
    report.duplicate_effects = sum(c - 1 for c in doubled.values())
    unexpected = {k: c for k, c in observed.items() if k not in expected}
    report.unexpected_effects = sum(unexpected.values())
    examples = {
        "lost": lost[:5],
        "doubled": [f"{kind} {key} x{c}" for (kind, key), c in list(doubled.items())[:5]],
        "unexpected": [f"{kind} {key} x{c}" for (kind, key), c in list(unexpected.items())[:5]],
        "poison_missing": poison_missing[:5],
        "dlq_other": [
            f"{n}: {e} ({err})" for n, found in letters.items() for e, err in found if e not in poison_ids
        ][:5],
    }
    report.examples = {k: v for k, v in examples.items() if v}
    accepted_s = max(report.drain_s, 0.001)
    report.events_per_s = round(report.accepted / accepted_s, 1)
    report.ok = (
        report.drained
        and report.lost == 0
        and report.duplicate_effects == 0
        and report.unexpected_effects == 0
        and report.poison_missing == 0
        and report.dlq_other == 0
        and report.not_accepted == 0
        and report.runtime_errors == 0
    )
