"""Bus delivery through the local runtime: lead.created reaches a consuming integration's queue.

A synthetic consumer spec (defined here, its worker in this module) runs beside website_to_crm in
one LocalRuntime; EventBridge (moto) routes the emitted event through its rule into the consumer's
queue, and its poller hands it to the worker - the same path a real consumer (notifications,
enrichment) will take.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ConfigDict

from infra.local.runtime import LocalRuntime
from infra.local.samples import EVENTS_DIR, build_request, load_sample
from shared.registry import load_spec
from shared.spec import Accepted, BusEvent, BusTrigger, IntegrationSpec
from shared.worker import WorkContext

pytestmark = pytest.mark.e2e

RECEIVED: list[dict[str, Any]] = []
_LOCK = threading.Lock()


class LeadCreated(BaseModel):
    model_config = ConfigDict(extra="allow")

    contact_id: str
    source_event_id: str
    lead: dict[str, Any]


class Announcement(BaseModel):
    contact_id: str
    email: str


def accept(detail: LeadCreated, event: BusEvent) -> list[Accepted]:
    return [
        Accepted(
            event_id=f"lead:{detail.source_event_id}",
            type=event.detail_type,
            data=Announcement(contact_id=detail.contact_id, email=detail.lead["email"]),
        )
    ]


def record(data: Announcement, ctx: WorkContext) -> dict[str, str]:
    with _LOCK:
        RECEIVED.append({"event_id": ctx.event_id, **data.model_dump()})
    return {"announced": data.contact_id}


CONSUMER = IntegrationSpec(
    name="lead_consumer",
    description="test consumer of lead.created",
    input_model=Announcement,
    triggers=(BusTrigger(name="leads", detail_types=("lead.created",), model=LeadCreated, accept=accept),),
    worker="tests.e2e.test_bus:record",
)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LocalRuntime]:
    RECEIVED.clear()
    specs = (load_spec("website_to_crm"), CONSUMER)
    with LocalRuntime(port=0, specs=specs, retry_scale=0.02, log_dir=None, state_file=None) as rt:
        yield rt
    assert rt.errors == []


def test_lead_created_reaches_the_consumer_once(runtime: LocalRuntime) -> None:
    spec = load_spec("website_to_crm")
    sample = load_sample(EVENTS_DIR / "website_to_crm" / "webhook_lead.json", spec)
    url, headers, body = build_request(
        spec, sample, runtime.url, runtime.signing_secret(spec, sample.trigger)
    )
    for _ in range(2):  # re-sent by the provider: still one lead.created, one announcement
        assert httpx.post(url, headers=headers, content=body, timeout=10).status_code == 202
    assert runtime.wait_drained(30)
    assert [
        {
            "event_id": f"lead:{sample.webhook_id}",
            "contact_id": RECEIVED[0]["contact_id"],
            "email": "priya.raman@northwind-traders.example",
        }
    ] == RECEIVED
    assert RECEIVED[0]["contact_id"].isdigit()
