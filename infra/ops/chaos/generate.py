"""Helpers the event generators (``functions/<name>/chaos.py``) share.

Every draw is derived from the event (seed, index) and a purpose, never from a shared generator:
an event is built again when it is re-sent and when it is judged, on whichever thread, and must
come out the same each time.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import uuid
from typing import Any

from infra.local.samples import EVENTS_DIR
from infra.ops.chaos.protocol import Planned

__all__ = ["ALNUM", "LEAD_DOMAIN", "UPPER", "compact", "rng", "sample", "token", "uuid4"]

UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#: Leads of the run (and the contacts prepared for them) have addresses at this domain.
LEAD_DOMAIN = "chaos-test.example"


@functools.cache
def _sample_text(integration: str, name: str) -> str:
    return (EVENTS_DIR / integration / f"{name}.json").read_text(encoding="utf-8")


def sample(integration: str, name: str) -> dict[str, Any]:
    """A fresh copy of a sample's provider body (``events/<integration>/<name>.json``)."""
    body: dict[str, Any] = json.loads(_sample_text(integration, name))["body"]
    return body


def rng(p: Planned, what: str) -> random.Random:
    """A generator of its own for one event and one purpose: the same draws on every build."""
    return random.Random(f"chaos:{p.seed}:{p.index}:{what}")


def _digest(p: Planned, what: str) -> bytes:
    return hashlib.sha256(f"{p.seed}:{p.index}:{what}".encode()).digest()


def token(p: Planned, what: str, length: int, alphabet: str = UPPER) -> str:
    """A provider-style id for one event (unique per seed, index and purpose)."""
    number = int.from_bytes(_digest(p, what), "big")
    chars = []
    for _ in range(length):
        number, rest = divmod(number, len(alphabet))
        chars.append(alphabet[rest])
    return "".join(chars)


def uuid4(p: Planned, what: str) -> str:
    return str(uuid.UUID(bytes=_digest(p, what)[:16], version=4))


def compact(payload: Any) -> bytes:
    """``payload`` as providers send JSON: no spaces, UTF-8 as is."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
