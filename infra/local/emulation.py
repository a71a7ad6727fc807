"""Where the embedded AWS emulation (moto) is made to keep a promise AWS makes and moto does not.

DynamoDB applies each write to an item atomically: a conditional write's check and its change are
one step, so of two containers racing for a lease, an idempotency record or a ledger step, exactly
one wins. Everything Switchboard calls exactly once rests on that. moto 5.2 checks and writes in
plain Python with no lock, so two threads of its server (or of an in-process ``mock_aws``) can both
pass the same condition: six threads doing compare-and-set increments lost a quarter of them, and
CI once saw two probes win one circuit's probe lease. An emulation that breaks the guarantee makes
the chaos and health tests fail (or pass) for reasons AWS would never produce.

:func:`make_dynamodb_atomic` serialises moto's DynamoDB requests in this process. DynamoDB is
cheap to serialise (no request waits on anything) - unlike SQS, whose long polls would then block
every other call - and no other service Switchboard uses offers a conditional write.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

__all__ = ["make_dynamodb_atomic"]

_lock = threading.RLock()
_MARK = "_switchboard_atomic"


def make_dynamodb_atomic() -> None:
    """Run every DynamoDB request moto handles in this process one at a time. Idempotent."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action
    if getattr(original, _MARK, False):
        return

    @functools.wraps(original)
    def call_action(self: Any) -> Any:
        with _lock:
            return original(self)

    setattr(call_action, _MARK, True)
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
