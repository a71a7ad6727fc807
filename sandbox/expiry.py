"""Forgetting idempotency keys on demand: what a stand-in's ``POST /_requestids/expire`` (QuickBooks)
or ``POST /_idempotency/expire`` (Xero) does.

A provider keeps an idempotency key's first answer for a while, then forgets it; how long is not
documented for either (see docs/provider-guarantees.md). The stand-ins keep a short window of their
own, and these controls let a test or the chaos harness pass time over it at once: with no body every
key is forgotten; with ``{"older_than_s": N}`` only the keys answered at least ``N`` seconds ago - a
retention that is at least ``N`` long (the chaos harness passes its consistency lag: a key outlives the
index lag, so the look-up that replaces it can see the record).
"""

from __future__ import annotations

import json
import math
from collections.abc import MutableMapping
from typing import Any

from sandbox.base import SandboxRequest, SandboxResponse

__all__ = ["InvalidExpiry", "expire"]


class InvalidExpiry(ValueError):
    """An expire request whose body is not ``{"older_than_s": <seconds, 0 or more>}``."""


def _older_than_s(req: SandboxRequest) -> float:
    if not req.body.strip():
        return 0.0
    try:
        data = json.loads(req.body)
    except ValueError:
        raise InvalidExpiry('send no body (forget every key) or {"older_than_s": <seconds>}') from None
    value = data.get("older_than_s") if isinstance(data, dict) and set(data) == {"older_than_s"} else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise InvalidExpiry(f'send {{"older_than_s": <seconds, 0 or more>}}, not {req.body[:100]!r}')
    return float(value)


def expire(
    req: SandboxRequest, answered: MutableMapping[str, tuple[Any, ...]], now: float
) -> SandboxResponse:
    """Forget the keys of ``answered`` (key -> (answered at, ...)) the request asks to; ``{"forgotten":
    n}``, or 400 naming what to send."""
    try:
        older_than = _older_than_s(req)
    except InvalidExpiry as exc:
        return SandboxResponse.json({"error": "invalid expiry", "detail": str(exc)}, 400)
    old = [key for key, (at, *_) in answered.items() if now - at >= older_than]
    for key in old:
        del answered[key]
    return SandboxResponse.json({"forgotten": len(old)})
