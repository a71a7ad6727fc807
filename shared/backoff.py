"""How long a failed message stays invisible before its next attempt (SQS does the waiting).

No ``sleep`` inside Lambda: we set the message's visibility timeout and let SQS redeliver it, so a
retry costs nothing while it waits. The delay grows exponentially with the receive count and uses
"equal jitter" (a random point in the upper half of the window) so that a burst of failures spreads
out without ever retrying at once. A target's ``Retry-After`` wins over the computed delay.

A *wait* (a 429, an open circuit: no attempt spent, see :class:`shared.spec.RetryPolicy`) is spaced
by its own count with the same jitter, capped at ``max_wait_s``; the target's hint (``Retry-After``,
the next probe of an open circuit plus its spread) is honoured when it is longer. Never shorter than
half the window: that lower bound is what makes the queue's ``maxReceiveCount`` a safe backstop.
"""

from __future__ import annotations

import math
import random

from shared.spec import RetryPolicy

__all__ = ["MAX_VISIBILITY_S", "visibility_delay", "wait_delay"]

#: SQS refuses visibility timeouts above 12 hours.
MAX_VISIBILITY_S = 43_200


def visibility_delay(
    policy: RetryPolicy,
    attempt: int,
    retry_after: float | None = None,
    *,
    scale: float = 1.0,
    rng: random.Random | None = None,
) -> int:
    """Seconds before the next attempt, for a message received ``attempt`` times (1-based)."""
    if retry_after is not None and not math.isnan(retry_after):
        delay = min(max(0.0, retry_after), MAX_VISIBILITY_S)  # "wait forever" waits the longest SQS allows
    else:
        window = min(policy.max_delay_s, policy.base_delay_s * 2 ** max(0, attempt - 1))
        delay = (rng or random).uniform(window / 2, window)
    return int(min(MAX_VISIBILITY_S, max(0.0, math.ceil(min(delay * scale, MAX_VISIBILITY_S)))))


def wait_delay(
    policy: RetryPolicy,
    waits: int,
    hint: float | None = None,
    *,
    scale: float = 1.0,
    rng: random.Random | None = None,
) -> int:
    """Seconds before a record that waits for the ``waits``-th time (1-based) is received again.

    ``hint`` is what the target or its circuit asks for (a ``Retry-After``, the next probe plus its
    spread), on the same scale as the delay: the caller multiplies it by ``scale`` as it does here.
    """
    window = policy.wait_window_s(waits) * scale
    delay = (rng or random).uniform(window / 2, window)
    if hint is not None and not math.isnan(hint):
        delay = max(delay, hint)
    return int(min(MAX_VISIBILITY_S, max(0.0, math.ceil(min(delay, MAX_VISIBILITY_S)))))
