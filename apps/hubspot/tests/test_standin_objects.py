"""The HubSpot stand-in's tasks, deals, pipelines, owners, search and v4 associations, as HubSpot answers them."""

from __future__ import annotations

from typing import Any

import pytest

from apps.hubspot.standin import DEFAULT_TOKEN, HubSpotSandbox
from sandbox.base import SandboxRequest

from .test_crm_tools import call, contact


def read(hs: HubSpotSandbox, path: str, **query: str) -> Any:
    headers = {"authorization": f"Bearer {DEFAULT_TOKEN}"}
    return hs.handle(SandboxRequest("GET", path, headers=headers, query={k: [v] for k, v in query.items()}))


@pytest.fixture
def hs() -> HubSpotSandbox:
    return HubSpotSandbox()


def task_body(contact_id: str, **props: Any) -> dict[str, Any]:
    return {
        "properties": {"hs_timestamp": "2026-12-08T10:00:00Z", "hs_task_subject": "Call", **props},
        "associations": [
            {
                "to": {"id": contact_id},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}],
            }
        ],
    }


def test_a_task_needs_its_due_time_and_known_options(hs: HubSpotSandbox) -> None:
    cid = contact(hs, "a@b.co")
    missing = call(hs, "POST", "/crm/v3/objects/tasks", {"properties": {"hs_task_subject": "x"}})
    assert missing.status == 400 and missing.parsed()["context"] == {"properties": ["hs_timestamp"]}
    bad = call(hs, "POST", "/crm/v3/objects/tasks", task_body(cid, hs_task_status="DONE"))
    assert bad.status == 400 and bad.parsed()["errors"][0]["code"] == "INVALID_OPTION"
    wrong_type = task_body(cid)
    wrong_type["associations"][0]["types"][0]["associationTypeId"] = 202
    assert call(hs, "POST", "/crm/v3/objects/tasks", wrong_type).status == 400
    made = call(hs, "POST", "/crm/v3/objects/tasks", task_body(cid))
    assert made.status == 201
    assert made.parsed()["properties"]["hs_task_status"] == "NOT_STARTED"  # HubSpot's default
    done = call(
        hs,
        "PATCH",
        f"/crm/v3/objects/tasks/{made.parsed()['id']}",
        {"properties": {"hs_task_status": "COMPLETED"}},
    )
    assert done.status == 200 and done.parsed()["properties"]["hs_task_status"] == "COMPLETED"


def test_batch_read_answers_207_naming_the_ids_not_found(hs: HubSpotSandbox) -> None:
    cid = contact(hs, "a@b.co")
    tid = call(hs, "POST", "/crm/v3/objects/tasks", task_body(cid)).parsed()["id"]
    resp = call(hs, "POST", "/crm/v3/objects/tasks/batch/read", {"inputs": [{"id": tid}, {"id": "1"}]})
    assert resp.status == 207
    body = resp.parsed()
    assert [r["id"] for r in body["results"]] == [tid]
    assert body["errors"][0]["category"] == "OBJECT_NOT_FOUND" and body["errors"][0]["context"] == {
        "ids": ["1"]
    }


def test_v4_associations_page_and_name_unknown_types(hs: HubSpotSandbox) -> None:
    cid = contact(hs, "a@b.co")
    for _ in range(3):
        call(hs, "POST", "/crm/v3/objects/tasks", task_body(cid))
    path = f"/crm/v4/objects/contacts/{cid}/associations/tasks"
    page = read(hs, path, limit="2").parsed()
    assert len(page["results"]) == 2 and page["results"][0]["associationTypes"][0]["typeId"] == 204
    rest = read(hs, path, limit="2", after=page["paging"]["next"]["after"])
    assert len(rest.parsed()["results"]) == 1 and "paging" not in rest.parsed()
    assert call(hs, "GET", f"/crm/v4/objects/contacts/{cid}/associations/widgets").status == 400


def test_pipelines_owners_by_id_and_their_404s(hs: HubSpotSandbox) -> None:
    listed = call(hs, "GET", "/crm/v3/pipelines/deals").parsed()["results"]
    default = next(p for p in listed if p["id"] == "default")
    assert [s["id"] for s in default["stages"]][:2] == ["appointmentscheduled", "qualifiedtobuy"]
    assert default["stages"][-1]["metadata"] == {"isClosed": "true", "probability": "0.0"}
    assert call(hs, "GET", "/crm/v3/pipelines/deals/nope").status == 404
    owner = call(hs, "GET", "/crm/v3/owners/41629779").parsed()
    assert (owner["email"], owner["firstName"], owner["type"]) == ("sam.owner@example.com", "Sam", "PERSON")
    assert call(hs, "GET", "/crm/v3/owners/1").status == 404


def test_search_enforces_hubspots_limits(hs: HubSpotSandbox) -> None:
    hs.limiter.enforce = False  # more than search's 5 a second (tests/sandbox/test_limits.py checks it)
    path = "/crm/v3/objects/contacts/search"
    f = {"propertyName": "email", "operator": "HAS_PROPERTY"}
    assert call(hs, "POST", path, {"filterGroups": [{"filters": [f]}], "limit": 201}).status == 400
    assert call(hs, "POST", path, {"filterGroups": [{"filters": [f]}] * 6}).status == 400
    assert call(hs, "POST", path, {"filterGroups": [{"filters": [f] * 7}]}).status == 400
    assert call(hs, "POST", path, {"filterGroups": [{"filters": [f] * 6}] * 4}).status == 400  # 24 > 18
    bad_op = {"propertyName": "email", "operator": "LIKE", "value": "x"}
    assert call(hs, "POST", path, {"filterGroups": [{"filters": [bad_op]}]}).status == 400
    contact(hs, "a@b.co", firstname="Ann")
    found = call(hs, "POST", path, {"filterGroups": [{"filters": [f]}]}).parsed()
    assert found["total"] == 1 and set(found["results"][0]["properties"]) >= {
        "email",
        "firstname",
        "hs_object_id",
    }
