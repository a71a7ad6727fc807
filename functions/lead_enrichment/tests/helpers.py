"""Helpers for driving lead_enrichment as production does: bus events on its queue, the real poller.

A bus event reaches the integration's queue as EventBridge delivers it to an SQS target (the whole
event, ``detail`` inside); :func:`send_bus_event` puts exactly that body on the queue, and
:func:`drain` runs the same poller the local runtime uses until the queue is empty.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from apps.hubspot.properties import NUMEMPLOYEES_OPTIONS
from apps.hubspot.standin import DEFAULT_TOKEN, HubSpotSandbox
from sandbox.base import SandboxApp, SandboxRequest
from shared.runtime import Runtime
from tests.support import poller

REGION = "us-east-1"


def bus_body(detail: dict[str, Any], detail_type: str = "lead.created") -> str:
    """The SQS message body EventBridge writes for a rule target: the whole event."""
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": "switchboard",
            "account": "123456789012",
            "time": "2026-11-20T09:14:05Z",
            "region": REGION,
            "resources": [],
            "detail": detail,
        }
    )


def send_bus_event(rt: Runtime, detail: dict[str, Any]) -> None:
    rt.aws("sqs").send_message(QueueUrl=rt.queue_url, MessageBody=bus_body(detail))


def poll_once(rt: Runtime) -> int:
    """One receive + handle + delete cycle, as the Lambda event source does it."""
    return poller(rt).poll_once()


def control(app: SandboxApp, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else b""
    resp = app.handle(SandboxRequest(method=method, path=path, body=data))
    assert resp.status < 300, resp.parsed()
    return resp.parsed()


def requests_to(app: SandboxApp, path: str = "") -> list[dict[str, Any]]:
    """The requests the sandbox app received whose path contains ``path``, oldest first."""
    return [r for r in control(app, "GET", "/_requests")["requests"] if path in r["path"]]


def hubspot_call(hubspot: HubSpotSandbox, method: str, path: str, body: Any = None) -> Any:
    """A HubSpot API call as an authenticated client makes it (the sandbox records it too)."""
    resp = hubspot.handle(
        SandboxRequest(
            method=method,
            path=path,
            headers={"authorization": f"Bearer {DEFAULT_TOKEN}", "content-type": "application/json"},
            body=json.dumps(body).encode() if body is not None else b"",
        )
    )
    assert resp.status < 300, resp.parsed()
    return resp.parsed()


def seed_contact(hubspot: HubSpotSandbox, email: str, **properties: str) -> str:
    """A contact as website_to_crm leaves it; returns its id."""
    body = {
        "inputs": [{"id": email, "idProperty": "email", "properties": {"firstname": "Test", **properties}}]
    }
    result = hubspot_call(hubspot, "POST", "/crm/v3/objects/contacts/batch/upsert", body)
    return str(result["results"][0]["id"])


def contact(hubspot: HubSpotSandbox, contact_id: str) -> dict[str, str]:
    return dict(
        next(c for c in control(hubspot, "GET", "/_state")["contacts"] if c["id"] == contact_id)["properties"]
    )


#: HubSpot's default "Number of Employees" options (:mod:`apps.hubspot.properties`) and "Industry" text
#: property, as a real portal has them: tests whose portal lacks them create them through the
#: properties API - what the portal would already have.


def add_default_company_properties(
    hubspot: HubSpotSandbox, options: tuple[str, ...] = NUMEMPLOYEES_OPTIONS
) -> None:
    hubspot_call(
        hubspot,
        "POST",
        "/crm/v3/properties/contacts",
        {
            "name": "industry",
            "label": "Industry",
            "type": "string",
            "fieldType": "text",
            "groupName": "contactinformation",
        },
    )
    hubspot_call(
        hubspot,
        "POST",
        "/crm/v3/properties/contacts",
        {
            "name": "numemployees",
            "label": "Number of Employees",
            "type": "enumeration",
            "fieldType": "select",
            "groupName": "contactinformation",
            "options": [{"label": o, "value": o, "displayOrder": i} for i, o in enumerate(options)],
        },
    )


class PortalWithoutCompanyDefaults(HubSpotSandbox):
    """The HubSpot sandbox minus the defaults ``industry`` and ``numemployees``, whatever it lists.

    Real portals have both (an admin may have edited the dropdown's options); these tests decide per
    test whether the portal has them, creating them through the properties API
    (``helpers.add_default_company_properties``) - so they hold whether or not the shared sandbox
    lists the two among its defaults.
    """

    def reset_data(self) -> None:
        super().reset_data()
        for name in ("industry", "numemployees"):
            self.properties.pop(name, None)
