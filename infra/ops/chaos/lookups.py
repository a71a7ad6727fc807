"""What the ledger's look-ups did at a stand-in, read from its request log once a run drained.

A create whose answer was lost (a late answer or a crash after the target acted: the request log
says 200 with a ``slow`` or ``crash`` fault) is retried. The retry first looks the record up by the
reference the create wrote into it (QuickBooks' ``PrivateNote``, Xero's ``Reference``); found, it is
answered as if just created and no second create is made. Not found (an index still trailing), the
create is sent again under the same idempotency key: remembered, the key answers the first answer;
forgotten, a second record is booked - which the judge then counts as doubled.

So per app: ``answers_lost`` (creates whose answer was lost), ``found_by_lookup`` (of those, the ones
with no later create under the same key: the look-up found them), ``created_again`` (the others:
the key, or nothing, stood in) and ``lookups`` (look-up requests answered). Counted over the
stand-in's request log, which keeps its last 2,000 requests: meant for small runs (a test's).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from infra.ops.chaos.state import ChaosRun

__all__ = ["LOST", "lookups_in"]

#: Fault kinds after which the target had acted but the client did not get the answer.
LOST = frozenset({"slow", "crash"})


def lookups_in(
    run: ChaosRun,
    app: str,
    create_key: Callable[[Mapping[str, Any]], str | None],
    is_lookup: Callable[[Mapping[str, Any]], bool],
) -> dict[str, int]:
    """The counts (see the module docstring) for ``app``: ``create_key`` gives a logged request's
    idempotency key if it is a create of a record the look-up can find (else ``None``), ``is_lookup``
    whether it is such a look-up."""
    sandbox: Any = run.runtime.sandboxes.get(app)
    if sandbox is None:
        return {}
    records = sandbox.request_log()
    lost_at: dict[str, int] = {}
    creates: dict[str, list[int]] = {}
    lookups = 0
    for n, record in enumerate(records):
        if is_lookup(record) and record.get("status") == 200:
            lookups += 1
        key = create_key(record)
        if key is None:
            continue
        creates.setdefault(key, []).append(n)
        if record.get("status") == 200 and record.get("fault") in LOST:
            lost_at.setdefault(key, n)
    again = {key for key, at in lost_at.items() if any(n > at for n in creates[key])}
    return {
        "answers_lost": len(lost_at),
        "found_by_lookup": len(lost_at) - len(again),
        "created_again": len(again),
        "lookups": lookups,
    }
