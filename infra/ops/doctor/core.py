"""The doctor's parts: a check, its result lines, what the checks share, and the runner.

A check family (one module of :mod:`infra.ops.doctor`) is a :class:`Check`: a name and a function
from the :class:`Context` to its :class:`Result` lines. The runner gives each check its own thread
and a deadline, so a service that hangs costs that check (a FAIL line saying it did not answer), not
the whole checklist; an error inside a check becomes a FAIL line with the reason, never a traceback.
Results never carry a secret's value: checks name fields, not what is in them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TextIO

from infra.ops.target import CliError, OperationFailed, Target
from shared.redact import redact
from shared.spec import IntegrationSpec

if TYPE_CHECKING:
    import httpx

__all__ = [
    "CHECK_TIMEOUT_S",
    "Check",
    "Context",
    "Report",
    "Result",
    "Status",
    "render",
    "render_line",
    "run_checks",
]

Status = Literal["ok", "FAIL", "warn", "skip"]

#: Seconds one check may take. The slowest step any check takes is an OAuth token call (30 s read
#: timeout in :mod:`shared.oauth`); a check still running after this is reported as not answering.
CHECK_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Result:
    """One line of the checklist: what was found and, unless it is fine, what to do about it."""

    check: str
    status: Status
    message: str
    fix: str = ""

    @property
    def blocks(self) -> bool:
        return self.status == "FAIL"


@dataclass
class Context:
    """What every check reads: the target, the specs, and (for tests) the providers' transport."""

    target: Target
    specs: tuple[IntegrationSpec, ...]
    #: Outbound HTTP to the providers' APIs (``None``: the network; tests pass a stand-in's transport).
    transport: httpx.BaseTransport | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def flag(self) -> str:
        """`` --stage prod`` for the fix commands on a stage, nothing locally."""
        return "" if self.target.is_local else f" --stage {self.target.stage}"

    def once(self, key: str, make: Callable[[], Any]) -> Any:
        """``make()``'s value, computed once per run (stack outputs, SES identities ...)."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]


@dataclass(frozen=True)
class Check:
    """A family of checks: ``run`` returns its lines (one per finding, with a fix when it fails)."""

    name: str
    #: What it checks, for ``--help`` and the docs.
    title: str
    run: Callable[[Context], list[Result]]


@dataclass(frozen=True)
class Report:
    where: str
    results: tuple[Result, ...]

    @property
    def blocked(self) -> bool:
        return any(r.blocks for r in self.results)

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.where,
            "ready": not self.blocked,
            "results": [asdict(r) for r in self.results],
        }


def _reason(exc: BaseException) -> str:
    """An exception as one line fit for the terminal: a user-facing message as is, others typed."""
    user_facing = isinstance(exc, CliError | OperationFailed)
    text = str(exc) if user_facing else f"{type(exc).__name__}: {exc}"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return str(redact(first))


def _run_one(check: Check, ctx: Context, timeout_s: float) -> list[Result]:
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["results"] = check.run(ctx)
        except BaseException as exc:  # reported as a line; the checklist goes on
            box["error"] = exc

    worker = threading.Thread(target=work, name=f"doctor-{check.name}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        return [
            Result(
                check.name,
                "FAIL",
                f"no answer within {timeout_s:g} s while checking {check.title}",
                "check the network to the services named above and run `switchboard doctor` again",
            )
        ]
    if "error" in box:
        return [Result(check.name, "FAIL", f"could not check {check.title}: {_reason(box['error'])}")]
    results: list[Result] = box["results"]
    return results


def run_checks(
    checks: Sequence[Check],
    ctx: Context,
    *,
    timeout_s: float = CHECK_TIMEOUT_S,
    on_result: Callable[[Result], None] | None = None,
) -> Report:
    """Run every check in order, each within ``timeout_s``; ``on_result`` sees each line as it comes."""
    found: list[Result] = []
    for check in checks:
        for result in _run_one(check, ctx, max(0.1, timeout_s)):
            found.append(result)
            if on_result is not None:
                on_result(result)
    return Report(ctx.target.where, tuple(found))


WIDTH = 12


def render_line(result: Result, out: TextIO) -> None:
    out.write(f"{result.status:<4}  {result.check:<{WIDTH}}  {result.message}\n")
    if result.fix:
        out.write(f"{'':<4}  {'':<{WIDTH}}  fix: {result.fix}\n")
    out.flush()


def render(report: Report, out: TextIO, *, as_json: bool = False) -> None:
    """The summary after the lines (text), or the whole report (``--json``)."""
    if as_json:
        out.write(json.dumps(report.as_json(), indent=2) + "\n")
        return
    fails = sum(r.status == "FAIL" for r in report.results)
    warns = sum(r.status == "warn" for r in report.results)
    if fails:
        out.write(
            f"\n{fails} line(s) FAIL: these block go-live on {report.where}; fix them and run it again.\n"
        )
    else:
        extra = f" ({warns} warning(s) worth reading)" if warns else ""
        out.write(f"\nNothing blocks go-live on {report.where}{extra}.\n")
