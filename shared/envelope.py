"""The message Switchboard puts on an integration's queue: one accepted event, already validated.

The ingress path normalises every source (signed webhook, form post, bus event, schedule tick) into
an envelope carrying the integration's *input model* as ``data``, so the worker sees one shape
whatever the source, and a DLQ message can be read, replayed or re-sent as it is.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.spec import Accepted

__all__ = ["ENVELOPE_VERSION", "MAX_EVENT_ID", "Envelope", "content_id"]

ENVELOPE_VERSION = 1
#: Longest event id (the idempotency key) an envelope carries.
MAX_EVENT_ID = 256


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    v: int = Field(default=ENVELOPE_VERSION)
    integration: str
    trigger: str
    event_id: str = Field(min_length=1, max_length=MAX_EVENT_ID)
    type: str
    received_at: str
    data: dict[str, Any]

    @classmethod
    def wrap(cls, integration: str, trigger: str, accepted: Accepted) -> Envelope:
        return cls(
            integration=integration,
            trigger=trigger,
            event_id=accepted.event_id,
            type=accepted.type,
            received_at=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            data=accepted.data.model_dump(mode="json"),
        )

    def to_message(self) -> str:
        return json.dumps(self.model_dump(mode="json"), separators=(",", ":"), ensure_ascii=False)

    @staticmethod
    def looks_like(body: Any) -> bool:
        return isinstance(body, dict) and body.get("v") == ENVELOPE_VERSION and "event_id" in body


def content_id(*parts: bytes | str) -> str:
    """An event id for senders that have none (browser forms): the same content gives the same id.

    A double-clicked submit or a browser re-post is then one event, deduplicated like a provider's
    re-sent webhook.
    """
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8") if isinstance(part, str) else part)
        digest.update(b"\x00")
    return "sha256-" + digest.hexdigest()[:40]
