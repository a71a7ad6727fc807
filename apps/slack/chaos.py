"""Slack under the chaos harness: ``invalid_blocks`` for poison, and the messages posted per event.

A retried post waits out the history lag it assumes before it searches twice (``apps/slack/actions.py``);
``lag_env`` lets a run whose history does not lag tell the flows so (no ``--lag``: nothing to wait for).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from apps.slack.actions import HISTORY_LAG_ENV
from infra.ops.chaos.protocol import AppChaos, EffectKey, event_keys
from infra.ops.chaos.state import ChaosRun

__all__ = ["CHAOS"]


def effects_seen(run: ChaosRun) -> Counter[EffectKey]:
    sandbox: Any = run.runtime.sandboxes["slack"]
    with sandbox.lock:
        texts = [str(m.get("text", "")) for m in sandbox.messages]
    return Counter(("slack.message", k) for t in texts for k in event_keys(t)[:1])


CHAOS = AppChaos(
    poison_body={"ok": False, "error": "invalid_blocks"}, observe=effects_seen, lag_env=HISTORY_LAG_ENV
)
