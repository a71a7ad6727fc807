"""The dead-letter page and its two actions: replay one letter, redrive all of an integration's.

Both are :mod:`infra.ops.dlq`'s, unchanged - the same commands ``switchboard dlq replay`` and
``redrive`` run - so a letter goes back through its integration's own queue and the effects ledger
skips the steps that already completed. Their printed report is what the page shows afterwards.
A redrive moves what the DLQ holds; the confirmation names that number, and the request carries the
number the operator confirmed, so a DLQ that changed in between is not moved blind.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from infra.ops import dlq
from infra.ops.dlq import DeadLetter, DlqScan
from infra.ops.target import CliError, NotDeployed, Target

__all__ = ["DlqView", "RedriveChanged", "letters", "redrive", "replay", "visible"]


class RedriveChanged(CliError):
    """The DLQ no longer holds the number of letters the operator confirmed."""


@dataclass
class DlqView:
    integration: str
    queue: str
    letters: list[DeadLetter]
    #: Held by another reader right now (a listing, a running redrive).
    in_flight: int
    #: ``False``: no DLQ on the target (not deployed there).
    deployed: bool = True


def letters(target: Target, names: Sequence[str]) -> list[DlqView]:
    views = []
    for name in names:
        queue = target.queue_name(name, dlq=True)
        try:
            with DlqScan(target, name) as scan:
                views.append(DlqView(name, queue, scan.letters, scan.in_flight))
        except NotDeployed:
            views.append(DlqView(name, queue, [], 0, deployed=False))
    return views


def visible(target: Target, name: str) -> int:
    """How many letters a redrive of ``name`` would move now."""
    dlq.running_integration(target, name)
    return dlq._visible(target, name)


def replay(target: Target, integration: str, message_id: str) -> str:
    out = io.StringIO()
    dlq.replay(target, message_id, integration, out)
    return out.getvalue()


def redrive(target: Target, integration: str, confirmed: int) -> str:
    now = visible(target, integration)
    if now != confirmed:
        raise RedriveChanged(
            f"the DLQ of {integration} holds {now} letter(s) now, not the {confirmed} you confirmed; look again"
        )
    out = io.StringIO()
    dlq.redrive(target, integration, out)
    return out.getvalue()
