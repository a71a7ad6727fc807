"""``make bench``'s figures as one document: ``benchmarks/results/bench.json``, read and written here.

Every figure carries what a reader needs to judge it without the code: its value (and the baseline
measured in the same run, where there is one), its target and whether it is met, the noise measured
in the run, and how many repeats it is the median of. The document carries the date and the machine
(CPU model, cores, Python), so a figure is never read without where it was measured.

Lower is better for every figure, and each target is an upper bound. A figure is *judged* on its
value, or on its ratio to its baseline where the ratio is what the target is about (a cold start
against the hand-written handler in the same run: a busier machine slows both sides).

The recorded document is what the docs' performance page is generated from (:mod:`benchmarks.report`)
and what the next full run is compared with (:mod:`benchmarks.gate`).
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "RECORDED",
    "SCHEMA",
    "TIMES",
    "Bench",
    "BenchInvalid",
    "BenchNotRecorded",
    "Figure",
    "Machine",
    "load",
    "parse",
    "save",
]

#: The unit of a ratio.
TIMES = "\N{MULTIPLICATION SIGN}"
RESULTS = Path(__file__).resolve().parent / "results"
#: The recorded figures: committed, compared with by the gate, rendered into docs/performance.md.
RECORDED = RESULTS / "bench.json"
SCHEMA = 1


class BenchNotRecorded(FileNotFoundError):
    """There is no recorded bench.json (no full run has been recorded yet)."""


class BenchInvalid(ValueError):
    """A bench.json that is not in the shape this module writes (hand-edited, truncated, older)."""


@dataclass(frozen=True)
class Machine:
    """Where the figures were measured, from the standard library alone."""

    cpu: str
    cores: int
    python: str
    system: str = ""

    @classmethod
    def here(cls) -> Machine:
        return cls(
            cpu=_cpu_model(),
            cores=os.cpu_count() or 0,
            python=platform.python_version(),
            system=platform.platform(terse=True),
        )

    def same_as(self, other: Machine) -> bool:
        """Absolute times compare only between runs on the same CPU, core count and Python."""
        return (self.cpu, self.cores, self.python) == (other.cpu, other.cores, other.python)

    def describe(self) -> str:
        return f"{self.cpu}, {self.cores} cores, Python {self.python}" + (
            f", {self.system}" if self.system else ""
        )


def _cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name (Linux's cpuinfo), else what :mod:`platform` knows."""
    try:
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            name, _, value = line.partition(":")
            if name.strip() in ("model name", "Model", "Hardware", "cpu model") and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


@dataclass(frozen=True)
class Figure:
    """One figure of one run. Lower is better; ``target`` is an upper bound on :attr:`judged`."""

    #: Stable name, compared across runs: ``cold_start.website_to_crm``, ``usd_per_million.mcp``.
    key: str
    #: What was measured, for a reader: the table row's first column.
    label: str
    #: Unit of ``value`` and ``baseline``: ``ms``, ``µs``, ``MB``, ``$``, :data:`TIMES` (a ratio), ``requests``.
    unit: str
    value: float
    #: ``ratio``: the target and the gate are about ``value / baseline``, not ``value``.
    judge: Literal["value", "ratio"] = "value"
    #: The same work done by the baseline in the same run, in ``unit``.
    baseline: float | None = None
    target: float | None = None
    #: Relative spread of the judged number in this run (:mod:`benchmarks.noise`); ``None`` when the
    #: figure is one measurement or a count.
    noise: float | None = None
    #: How many repeats the figure is the median (or fastest) of.
    repeats: int | None = None
    #: Comparable across machines: a ratio against the same run's baseline, or a count.
    portable: bool = False
    #: A short remark the docs show with the figure (why it has no baseline, what it assumes).
    note: str = ""

    def __post_init__(self) -> None:
        if self.judge == "ratio" and not self.baseline:
            raise BenchInvalid(f"figure {self.key}: judged on its ratio but has no baseline")

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None

    @property
    def judged(self) -> float:
        if self.judge == "ratio":
            assert self.baseline
            return self.value / self.baseline
        return self.value

    @property
    def judged_unit(self) -> str:
        return TIMES if self.judge == "ratio" else self.unit

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.judged <= self.target

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "unit": self.unit,
            "value": self.value,
            "baseline": self.baseline,
            "ratio": None if self.ratio is None else round(self.ratio, 4),
            "judge": self.judge,
            "target": self.target,
            "met": self.met,
            "noise": None if self.noise is None else round(self.noise, 4),
            "repeats": self.repeats,
            "portable": self.portable,
            "note": self.note,
        }


@dataclass(frozen=True)
class Bench:
    """One full run of ``make bench``: every figure, when and where."""

    measured_at: str
    machine: Machine
    figures: tuple[Figure, ...]
    elapsed_s: float = 0.0
    #: The sizes the run used (repeats per figure), for the record.
    sizes: dict[str, int] = field(default_factory=dict)
    #: Statements about the run as a whole that the docs repeat (which figures are left out and why).
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        keys = [f.key for f in self.figures]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise BenchInvalid(f"figures named twice: {', '.join(twice)}")

    @property
    def date(self) -> str:
        return self.measured_at[:10]

    def by_key(self) -> dict[str, Figure]:
        return {f.key: f for f in self.figures}

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "measured_at": self.measured_at,
            "date": self.date,
            "machine": {
                "cpu": self.machine.cpu,
                "cores": self.machine.cores,
                "python": self.machine.python,
                "system": self.machine.system,
            },
            "elapsed_s": round(self.elapsed_s, 1),
            "sizes": dict(self.sizes),
            "notes": list(self.notes),
            "figures": [f.to_json() for f in self.figures],
        }


def save(bench: Bench, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(bench.to_json(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def load(path: Path = RECORDED) -> Bench:
    if not path.exists():
        raise BenchNotRecorded(
            f"{path}: no recorded figures yet - run the full bench with `make bench RECORD=1` "
            "(python -m benchmarks --record) first"
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BenchInvalid(f"{path}: not JSON ({exc})") from exc
    return parse(raw, str(path))


_FIGURE_FIELDS = ("key", "label", "unit", "value")


def parse(raw: Any, source: str = "bench.json") -> Bench:
    """A :class:`Bench` from its JSON; a clear :class:`BenchInvalid` naming what is wrong otherwise."""
    if not isinstance(raw, dict):
        raise BenchInvalid(f"{source}: expected an object, found {type(raw).__name__}")
    if raw.get("schema") != SCHEMA:
        raise BenchInvalid(f"{source}: schema {raw.get('schema')!r}, this code reads {SCHEMA}")
    try:
        machine = raw["machine"]
        figures = []
        for i, f in enumerate(raw["figures"]):
            missing = [name for name in _FIGURE_FIELDS if name not in f]
            if missing:
                raise BenchInvalid(f"{source}: figure {f.get('key', i)!r} lacks {', '.join(missing)}")
            if f.get("judge", "value") not in ("value", "ratio"):
                raise BenchInvalid(f"{source}: figure {f['key']!r}: judge {f['judge']!r}")
            figures.append(
                Figure(
                    key=str(f["key"]),
                    label=str(f["label"]),
                    unit=str(f["unit"]),
                    value=float(f["value"]),
                    judge=f.get("judge", "value"),
                    baseline=_number(f.get("baseline")),
                    target=_number(f.get("target")),
                    noise=_number(f.get("noise")),
                    repeats=None if f.get("repeats") is None else int(f["repeats"]),
                    portable=bool(f.get("portable", False)),
                    note=str(f.get("note", "")),
                )
            )
        return Bench(
            measured_at=str(raw["measured_at"]),
            machine=Machine(
                cpu=str(machine["cpu"]),
                cores=int(machine["cores"]),
                python=str(machine["python"]),
                system=str(machine.get("system", "")),
            ),
            figures=tuple(figures),
            elapsed_s=float(raw.get("elapsed_s", 0.0)),
            sizes={str(k): int(v) for k, v in raw.get("sizes", {}).items()},
            notes=tuple(str(n) for n in raw.get("notes", [])),
        )
    except BenchInvalid:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise BenchInvalid(f"{source}: missing or malformed field: {exc}") from exc


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
