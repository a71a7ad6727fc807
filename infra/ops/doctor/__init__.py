"""``switchboard doctor``: what still blocks go-live, one line each, with the fix.

The checks, in the order a first deployment meets them (each family is a module here):

=============  ==========================================================================
bootstrap      CDK bootstrap in the account and region (:mod:`.deploy`)
stacks         both stacks complete; one function per integration of the code, none extra
               (locally: the runtime serves every spec) (:mod:`.deploy`)
connections    every stored connection's required fields set (:mod:`.connections`)
oauth          every OAuth connection refreshes at its provider (:mod:`.connections`)
webhooks       every webhook registered at its provider, enabled, at the current URL
               (:mod:`.webhooks`)
email          SES senders verified; sandbox or production; sandbox recipients verified
               (:mod:`.ses`)
alarms         the alarm topic's subscriptions confirmed (:mod:`.alarms`)
dlq            every DLQ empty (:mod:`.alarms`)
=============  ==========================================================================

A line is ``ok``, ``FAIL`` (blocks go-live: the command exits 1), ``warn`` (works, but read it) or
``skip`` (does not apply here, and why). Every line that is not ``ok`` says what to do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from infra.ops.doctor.alarms import ALARMS, DLQS
from infra.ops.doctor.connections import CONNECTIONS, OAUTH
from infra.ops.doctor.core import (
    CHECK_TIMEOUT_S,
    Check,
    Context,
    Report,
    Result,
    render,
    render_line,
    run_checks,
)
from infra.ops.doctor.deploy import BOOTSTRAP, STACKS
from infra.ops.doctor.ses import SES
from infra.ops.doctor.webhooks import WEBHOOKS
from infra.ops.target import Target
from shared.registry import load_specs

if TYPE_CHECKING:
    import httpx

__all__ = ["CHECKS", "CHECK_TIMEOUT_S", "Check", "Report", "Result", "doctor"]

#: Every check, in the order they print.
CHECKS: tuple[Check, ...] = (BOOTSTRAP, STACKS, CONNECTIONS, OAUTH, WEBHOOKS, SES, ALARMS, DLQS)


def doctor(
    target: Target,
    out: TextIO,
    *,
    as_json: bool = False,
    timeout_s: float = CHECK_TIMEOUT_S,
    transport: httpx.BaseTransport | None = None,
    checks: tuple[Check, ...] = CHECKS,
) -> Report:
    """Run the checks against ``target``, print them (each line as it comes, or JSON at the end)."""
    ctx = Context(target, tuple(load_specs()), transport=transport)
    if not as_json:
        out.write(f"Checking {target.where} for go-live:\n")
    report = run_checks(
        checks, ctx, timeout_s=timeout_s, on_result=None if as_json else lambda r: render_line(r, out)
    )
    render(report, out, as_json=as_json)
    return report
