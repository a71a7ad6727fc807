"""Judging a drained run by what the targets hold: every accepted event's effects exactly once,
poison in its DLQ, no other dead letter. What is counted is what a customer would see, so the
observers count domain effects (contacts, notes, messages, receipts, calendar events, emails), not
requests - and not the system's own records (ledger, queues), which could agree with themselves
while a target holds two notes or none.

Effects and checks are counted apart (:attr:`~infra.ops.chaos.protocol.AppChaos.checks`): an effect
is a thing a target holds and can be missing or doubled; a check (owner and stage set, the right
total, the booked times) can only pass or fail once per event, so it is judged present or absent
and never adds to the effect count. Structural kinds (:attr:`~infra.ops.chaos.protocol.AppChaos.structural`:
a contact upserted by email, a calendar event under a client-chosen id) are judged as effects - lost,
doubled or unexpected fails the run - but counted apart from the headline effect count, since the
target itself keeps them single. Every failure is one sentence naming the event (key and event
id) and the kind: ``R7N3 (msg_chaos7n3): hubspot.note 2 times, expected once``.

``switchboard chaos`` and ``switchboard load`` both judge with :func:`verdict`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from infra.ops.chaos.discovery import check_kinds, observers, structural_kinds
from infra.ops.chaos.protocol import EffectKey, Planned
from infra.ops.chaos.report import ChaosReport
from infra.ops.chaos.state import ChaosRun

__all__ = ["MAX_FAILURES", "Verdict", "judge", "verdict"]

#: Failure sentences kept in a verdict (the counts cover them all).
MAX_FAILURES = 20


@dataclass
class Verdict:
    """What the targets hold, against what the accepted events should have caused."""

    accepted: int = 0
    not_accepted: int = 0
    #: Distinct effects (things the targets hold) the accepted events must cause, and the number seen
    #: - structural kinds left out (below).
    effects_expected: int = 0
    effects_observed: int = 0
    #: Effects of the kinds the targets themselves keep single (an upsert by email, a client-chosen
    #: id): expected and seen, apart from the headline.
    structural_expected: int = 0
    structural_observed: int = 0
    #: Checks on those effects (at most one per event and kind) expected, and passed.
    checks_expected: int = 0
    checks_passed: int = 0
    #: kind -> {"expected", "observed", "check", "structural"}: the counts above, per kind.
    by_kind: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Effects seen more than once: the extra ones.
    duplicate_effects: int = 0
    #: Effects of an event that should have caused none of that kind (or of no event of the run).
    unexpected_effects: int = 0
    #: Expected effects and checks not seen.
    effects_missing: int = 0
    #: Events with at least one missing effect or failed check.
    lost: int = 0
    dlq_poison: int = 0
    poison_missing: int = 0
    dlq_other: int = 0
    #: "integration: error" -> how many dead letters other than poison ended there for it.
    dlq_reasons: dict[str, int] = field(default_factory=dict)
    #: Every failure as a sentence naming the event and the kind (the first :data:`MAX_FAILURES`).
    failures: list[str] = field(default_factory=list)
    #: The same, grouped (up to five of each): lost, doubled, unexpected, poison_missing, dlq_other.
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        """Nothing lost, doubled or unexpected; poison where it belongs; no other dead letter."""
        return not (
            self.lost
            or self.duplicate_effects
            or self.unexpected_effects
            or self.poison_missing
            or self.dlq_other
            or self.not_accepted
        )


def _accepted(run: ChaosRun, p: Planned) -> bool:
    """A one-change event is accepted once any delivery was answered 2xx; a sequence once every one
    of its versions was."""
    if p.factory.versions is not None:
        return len(run.versions_ok.get(p.index, ())) == p.factory.count(p)
    return any(200 <= s < 300 for s in run.results.get(p.index, []))


def observe(run: ChaosRun) -> Counter[EffectKey]:
    """Every effect and check the observers find in the targets now."""
    observed: Counter[EffectKey] = Counter()
    for look in observers():
        observed.update(look(run))
    return observed


def verdict(
    run: ChaosRun,
    events: Sequence[Planned],
    letters: Mapping[str, list[tuple[str, str]]],
    checks: frozenset[str] | None = None,
    structural: frozenset[str] | None = None,
) -> Verdict:
    """Judge ``events`` (those answered 2xx in :attr:`ChaosRun.results`) by the targets' state and
    the dead letters in ``letters`` (integration -> [(event id, error)])."""
    checks = check_kinds() if checks is None else checks
    structural = structural_kinds() if structural is None else structural
    observed = observe(run)
    out = Verdict()
    accepted = [p for p in events if _accepted(run, p)]
    out.accepted, out.not_accepted = len(accepted), len(events) - len(accepted)
    in_dlq: dict[str, set[str]] = {name: {e for e, _ in found} for name, found in letters.items()}
    ids = {p.key: p.factory.build(run, p).event_id for p in events}
    expected: set[EffectKey] = set()
    lost: list[str] = []
    poison_missing: list[str] = []
    failures: list[str] = []
    for p in accepted:
        event_id = ids[p.key]
        if p.poison:
            if event_id in in_dlq.get(p.factory.dlq or p.factory.integration, set()):
                out.dlq_poison += 1
            else:
                poison_missing.append(f"{p.key} ({event_id})")
                failures.append(f"{p.key} ({event_id}): poison event not in the {p.factory.integration} DLQ")
            continue
        keys = list(p.factory.effects(p))
        expected.update(keys)
        missing = [kind for kind, key in keys if observed[(kind, key)] == 0]
        out.effects_missing += len(missing)
        if missing:
            lost.append(f"{p.key} ({event_id}): no {', '.join(missing)}")
            failures.extend(
                f"{p.key} ({event_id}): {'check failed' if kind in checks else 'no'} {kind}"
                for kind in missing
            )
    doubled = {k: c for k, c in observed.items() if k in expected and c > 1 and k[0] not in checks}
    unexpected = {k: c for k, c in observed.items() if k not in expected and c > 0}
    for (kind, key), count in sorted(doubled.items()):
        failures.append(f"{key} ({ids.get(key, '?')}): {kind} {count} times, expected once")
    for (kind, key), count in sorted(unexpected.items()):
        failures.append(f"{key} ({ids.get(key, 'no event of this run')}): {kind} x{count}, expected none")
    poison_ids = {ids[p.key] for p in events if p.poison}
    other = [f"{n}: {e} ({err})" for n, found in letters.items() for e, err in found if e not in poison_ids]
    failures.extend(f"dead letter of a good event in {line}" for line in other)
    out.dlq_reasons = dict(
        Counter(
            f"{n}: {err}" for n, found in letters.items() for e, err in found if e not in poison_ids
        ).most_common()
    )
    _count(out, observed, expected, checks, structural)
    out.lost = len(lost)
    out.poison_missing = len(poison_missing)
    out.dlq_other = len(other)
    out.duplicate_effects = sum(c - 1 for c in doubled.values())
    out.unexpected_effects = sum(unexpected.values())
    out.failures = failures[:MAX_FAILURES]
    examples = {
        "lost": lost[:5],
        "doubled": [f"{kind} {key} x{c}" for (kind, key), c in sorted(doubled.items())[:5]],
        "unexpected": [f"{kind} {key} x{c}" for (kind, key), c in sorted(unexpected.items())[:5]],
        "poison_missing": poison_missing[:5],
        "dlq_other": other[:5],
    }
    out.examples = {k: v for k, v in examples.items() if v}
    return out


def _count(
    out: Verdict,
    observed: Counter[EffectKey],
    expected: set[EffectKey],
    checks: frozenset[str],
    structural: frozenset[str] = frozenset(),
) -> None:
    """Effects, structural effects and checks, in total and per kind: a check counts once per event
    however many effects it was seen on (a doubled contact is the contact's failure, not its owner's)."""
    kinds: dict[str, dict[str, Any]] = {}

    def row_of(kind: str) -> dict[str, Any]:
        return kinds.setdefault(
            kind,
            {"expected": 0, "observed": 0, "check": kind in checks, "structural": kind in structural},
        )

    for kind, _key in expected:
        row_of(kind)["expected"] += 1
    for (kind, _key), count in observed.items():
        row_of(kind)["observed"] += min(count, 1) if kind in checks else count
    out.by_kind = dict(sorted(kinds.items()))
    plain = [r for r in kinds.values() if not r["check"] and not r["structural"]]
    single = [r for r in kinds.values() if not r["check"] and r["structural"]]
    out.effects_expected = sum(r["expected"] for r in plain)
    out.effects_observed = sum(r["observed"] for r in plain)
    out.structural_expected = sum(r["expected"] for r in single)
    out.structural_observed = sum(r["observed"] for r in single)
    out.checks_expected = sum(r["expected"] for r in kinds.values() if r["check"])
    out.checks_passed = sum(1 for k in expected if k[0] in checks and observed[k] > 0)


def judge(
    run: ChaosRun,
    events: Sequence[Planned],
    letters: Mapping[str, list[tuple[str, str]]],
    report: ChaosReport,
) -> None:
    """Fill in ``report``'s counts and verdict from what the observers saw and what the DLQs hold."""
    found = verdict(run, events, letters)
    for name in (
        "accepted",
        "not_accepted",
        "effects_expected",
        "effects_observed",
        "structural_expected",
        "structural_observed",
        "checks_expected",
        "checks_passed",
        "by_kind",
        "duplicate_effects",
        "unexpected_effects",
        "effects_missing",
        "lost",
        "dlq_poison",
        "poison_missing",
        "dlq_other",
        "dlq_reasons",
        "examples",
    ):
        setattr(report, name, getattr(found, name))
    report.failures = list(found.failures)
    if not report.drained:
        report.failures.insert(0, "the queues did not drain in time: what is still queued was not judged")
    if report.runtime_errors:
        report.failures.insert(0, f"{report.runtime_errors} runtime error(s) outside the functions")
    if report.outages and report.redrives_needed:
        report.failures.insert(
            0, f"{report.redrives_needed} dead letter(s) other than poison: an outage needed a redrive"
        )
    accepted_s = max(report.drain_s, 0.001)
    report.events_per_s = round(report.accepted / accepted_s, 1)
    report.ok = (
        report.drained
        and report.runtime_errors == 0
        and found.clean
        and not (report.outages and report.redrives_needed)
    )
