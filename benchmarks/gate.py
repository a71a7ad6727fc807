"""The regression gate: a full ``make bench`` fails when a figure got worse than its recorded value by
more than the noise either run measured.

Each figure is compared on what it is judged on (:attr:`benchmarks.figures.Figure.judged`: a cold
start on its ratio to the same run's baseline, a dollar figure on its value). The margin is relative:
the larger of the recorded run's noise and this run's, and never below :data:`NOISE_FLOOR` - a
figure measured once (peak memory) or counted (requests per event) has no spread of its own, and a
count that moves at all has changed. A recorded figure this run did not produce fails too: a
measurement that stopped working must not pass as "no regression". A figure the record does not
have yet is reported as new.

Absolute figures (milliseconds, megabytes, dollars from measured CPU) are compared only when both
runs were on the same machine (:meth:`benchmarks.figures.Machine.same_as`); ratios and counts are
compared anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from .figures import Bench, Figure

__all__ = ["NOISE_FLOOR", "Outcome", "Verdict", "compare", "failures"]

#: The smallest relative margin: a run's own spread can be tiny while the next run differs by more.
NOISE_FLOOR = 0.03

Outcome = Literal["better", "same", "worse", "new", "missing", "not compared"]


@dataclass(frozen=True)
class Verdict:
    key: str
    outcome: Outcome
    label: str
    unit: str
    recorded: float | None = None
    new: float | None = None
    #: The relative margin the comparison allowed.
    margin: float | None = None
    why: str = ""

    @property
    def failed(self) -> bool:
        return self.outcome in ("worse", "missing")

    def line(self) -> str:
        """One line naming the figure, the recorded value, the new one and the margin."""
        if self.outcome == "new":
            return f"new      {self.key}: {_n(self.new)} {self.unit} (not recorded before)"
        if self.outcome == "missing":
            return f"MISSING  {self.key}: recorded {_n(self.recorded)} {self.unit}, not measured in this run"
        if self.outcome == "not compared":
            return f"skipped  {self.key}: {self.why}"
        assert self.recorded is not None
        assert self.new is not None
        assert self.margin is not None
        change = (self.new - self.recorded) / self.recorded if self.recorded else float("inf")
        word = {"better": "better  ", "same": "same    ", "worse": "WORSE   "}[self.outcome]
        return (
            f"{word} {self.key}: recorded {_n(self.recorded)} {self.unit}, now {_n(self.new)} {self.unit} "
            f"({change:+.1%}; margin {self.margin:.1%})"
        )


def _n(value: float | None) -> str:
    return "-" if value is None else f"{value:,.4g}"


def margin(recorded: Figure, new: Figure, floor: float = NOISE_FLOOR) -> float:
    return max(recorded.noise or 0.0, new.noise or 0.0, floor)


def compare(recorded: Bench, new: Bench, floor: float = NOISE_FLOOR) -> list[Verdict]:
    """Every figure of either run, in the new run's order, then those only recorded."""
    same_machine = recorded.machine.same_as(new.machine)
    before = recorded.by_key()
    verdicts = []
    for fig in new.figures:
        old = before.get(fig.key)
        if old is None:
            verdicts.append(Verdict(fig.key, "new", fig.label, fig.judged_unit, new=fig.judged))
            continue
        if old.judge != fig.judge:
            verdicts.append(
                Verdict(
                    fig.key,
                    "not compared",
                    fig.label,
                    fig.judged_unit,
                    why=f"judged on its {fig.judge} now, on its {old.judge} when recorded",
                )
            )
            continue
        if not same_machine and not (fig.portable and old.portable):
            verdicts.append(
                Verdict(
                    fig.key,
                    "not compared",
                    fig.label,
                    fig.judged_unit,
                    recorded=old.judged,
                    new=fig.judged,
                    why=f"an absolute figure, recorded on another machine ({recorded.machine.describe()})",
                )
            )
            continue
        allowed = margin(old, fig, floor)
        if fig.judged > old.judged * (1 + allowed):
            outcome: Outcome = "worse"
        elif fig.judged < old.judged * (1 - allowed):
            outcome = "better"
        else:
            outcome = "same"
        verdicts.append(
            Verdict(fig.key, outcome, fig.label, fig.judged_unit, old.judged, fig.judged, allowed)
        )
    produced = {f.key for f in new.figures}
    verdicts += [
        Verdict(f.key, "missing", f.label, f.judged_unit, recorded=f.judged)
        for f in recorded.figures
        if f.key not in produced
    ]
    return verdicts


def failures(verdicts: Iterable[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if v.failed]
