"""The HubSpot sandbox: HubSpot's shapes and checks, and the control endpoints every sandbox app has."""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

import httpx
import pytest

from apps.hubspot.standin import DEFAULT_TOKEN, HubSpotSandbox
from sandbox.base import SandboxApp, SandboxRequest, SandboxResponse, as_transport

AUTH = {"authorization": f"Bearer {DEFAULT_TOKEN}"}
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UPSERT = "/crm/v3/objects/contacts/batch/upsert"


@pytest.fixture
def hs() -> HubSpotSandbox:
    return HubSpotSandbox()


def call(
    app: SandboxApp,
    method: str,
    path: str,
    body: Any = None,
    *,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> SandboxResponse:
    raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    return app.handle(
        SandboxRequest(
            method=method,
            path=path,
            query={k: [v] for k, v in (query or {}).items()},
            headers=AUTH if headers is None else headers,
            body=raw,
        )
    )


def upsert(hs: HubSpotSandbox, email: str, **properties: str) -> SandboxResponse:
    return call(
        hs, "POST", UPSERT, {"inputs": [{"id": email, "idProperty": "email", "properties": properties}]}
    )


def assert_hubspot_error(resp: SandboxResponse, status: int, category: str) -> dict[str, Any]:
    body: dict[str, Any] = resp.parsed()
    assert resp.status == status, body
    assert body["status"] == "error"
    assert body["category"] == category
    assert body["message"]
    assert re.fullmatch(r"[0-9a-f-]{36}", body["correlationId"])
    return body


# --- auth -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer nope"}, {"authorization": DEFAULT_TOKEN}])
def test_requests_without_the_token_are_401(hs: HubSpotSandbox, headers: dict[str, str]) -> None:
    resp = call(hs, "GET", "/crm/v3/objects/contacts", headers=headers)
    body = assert_hubspot_error(resp, 401, "INVALID_AUTHENTICATION")
    assert body["message"].startswith("Authentication credentials not found.")


def test_the_accepted_token_is_configurable() -> None:
    hs = HubSpotSandbox(token="pat-na1-local")
    assert call(hs, "GET", "/crm/v3/owners", headers={"authorization": "Bearer pat-na1-local"}).status == 200
    assert call(hs, "GET", "/crm/v3/owners").status == 401


# --- batch upsert ---------------------------------------------------------------------------------


def test_batch_upsert_answers_in_hubspots_shape(hs: HubSpotSandbox) -> None:
    resp = upsert(hs, "Ada@Example.com", firstname="Ada")
    body = resp.parsed()

    assert resp.status == 200
    assert body["status"] == "COMPLETE"
    assert ISO_MS.match(body["startedAt"])
    assert ISO_MS.match(body["completedAt"])
    (result,) = body["results"]
    assert set(result) == {"id", "properties", "createdAt", "updatedAt", "archived", "new"}
    assert result["id"].isdigit()
    assert result["new"] is True
    assert result["archived"] is False
    assert ISO_MS.match(result["createdAt"])
    assert result["properties"]["email"] == "ada@example.com"
    assert result["properties"]["firstname"] == "Ada"
    assert result["properties"]["hs_object_id"] == result["id"]


def test_upsert_by_email_is_case_insensitive_and_not_new_the_second_time(hs: HubSpotSandbox) -> None:
    first = upsert(hs, "ada@example.com", firstname="Ada").parsed()["results"][0]
    second = upsert(hs, "ADA@EXAMPLE.COM", lastname="Lovelace").parsed()["results"][0]

    assert second["id"] == first["id"]
    assert second["new"] is False
    (contact,) = call(hs, "GET", "/_state").parsed()["contacts"]
    assert contact["properties"]["firstname"] == "Ada"
    assert contact["properties"]["lastname"] == "Lovelace"


def test_an_empty_string_clears_a_property(hs: HubSpotSandbox) -> None:
    upsert(hs, "ada@example.com", firstname="Ada")
    upsert(hs, "ada@example.com", firstname="")
    (contact,) = call(hs, "GET", "/_state").parsed()["contacts"]
    assert "firstname" not in contact["properties"]


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ({}, "inputs"),
        ({"inputs": [{"idProperty": "email", "properties": {}}]}, "id"),
        ({"inputs": [{"id": "a@b.co", "properties": {}}]}, "idProperty"),
    ],
)
def test_upsert_requires_its_fields(hs: HubSpotSandbox, body: dict[str, Any], missing: str) -> None:
    error = assert_hubspot_error(call(hs, "POST", UPSERT, body), 400, "VALIDATION_ERROR")
    assert "Some required fields were not set" in error["message"]
    assert missing in error["message"]


def test_malformed_json_is_400(hs: HubSpotSandbox) -> None:
    error = assert_hubspot_error(call(hs, "POST", UPSERT, b"{not json"), 400, "VALIDATION_ERROR")
    assert error["message"].startswith("Invalid input JSON")


def test_unknown_property_is_rejected_as_hubspot_documents(hs: HubSpotSandbox) -> None:
    error = assert_hubspot_error(upsert(hs, "a@b.co", testproperty="x"), 400, "VALIDATION_ERROR")

    assert error["message"].startswith("Property values were not valid: ")
    (detail,) = json.loads(error["message"].removeprefix("Property values were not valid: "))
    assert detail["error"] == "PROPERTY_DOESNT_EXIST"
    assert detail["name"] == "testproperty"
    assert detail["message"] == 'Property "testproperty" does not exist'
    assert error["errors"] == [
        {
            "message": 'Property "testproperty" does not exist',
            "code": "PROPERTY_DOESNT_EXIST",
            "context": {"propertyName": ["testproperty"]},
        }
    ]
    assert not hs.contacts


@pytest.mark.parametrize(
    ("properties", "code"),
    [
        ({"lifecyclestage": "Lead"}, "INVALID_OPTION"),
        ({"hs_lead_status": "HOT"}, "INVALID_OPTION"),
        ({"hubspot_owner_id": "1"}, "INVALID_OWNER_ID"),
        ({"createdate": "2024-01-01T00:00:00Z"}, "READ_ONLY_VALUE"),
        ({"hs_analytics_source": "DIRECT_TRAFFIC"}, "READ_ONLY_VALUE"),
    ],
)
def test_property_values_are_checked(hs: HubSpotSandbox, properties: dict[str, str], code: str) -> None:
    error = assert_hubspot_error(upsert(hs, "a@b.co", **properties), 400, "VALIDATION_ERROR")
    assert error["errors"][0]["code"] == code


def test_invalid_email_is_rejected(hs: HubSpotSandbox) -> None:
    error = assert_hubspot_error(upsert(hs, "not-an-email"), 400, "VALIDATION_ERROR")
    assert error["errors"][0]["code"] == "INVALID_EMAIL"


def test_duplicate_ids_in_one_batch_are_rejected(hs: HubSpotSandbox) -> None:
    inputs: list[dict[str, Any]] = [
        {"id": e, "idProperty": "email", "properties": {}} for e in ("a@b.co", "A@B.co")
    ]
    error = assert_hubspot_error(call(hs, "POST", UPSERT, {"inputs": inputs}), 400, "VALIDATION_ERROR")
    assert "Duplicate IDs" in error["message"]


def test_custom_properties_are_seeded_and_can_be_left_out() -> None:
    seeded = HubSpotSandbox()
    assert upsert(seeded, "a@b.co", utm_source="google", lead_source="website").status == 200
    bare = HubSpotSandbox(custom_properties=())
    assert upsert(bare, "a@b.co", utm_source="google").status == 400


# --- reading contacts -----------------------------------------------------------------------------


def test_get_contact_by_id_returns_hubspots_default_properties(hs: HubSpotSandbox) -> None:
    contact_id = upsert(hs, "ada@example.com", firstname="Ada", phone="123").parsed()["results"][0]["id"]

    body = call(hs, "GET", f"/crm/v3/objects/contacts/{contact_id}").parsed()

    assert body["id"] == contact_id
    # Defaults are createdate, email, firstname, hs_object_id, lastmodifieddate, lastname (when set).
    assert set(body["properties"]) == {"createdate", "email", "firstname", "hs_object_id", "lastmodifieddate"}
    asked = call(hs, "GET", f"/crm/v3/objects/contacts/{contact_id}", query={"properties": "phone,nope"})
    assert asked.parsed()["properties"] == {"phone": "123"}


def test_get_contact_by_email(hs: HubSpotSandbox) -> None:
    contact_id = upsert(hs, "ada@example.com").parsed()["results"][0]["id"]
    resp = call(hs, "GET", "/crm/v3/objects/contacts/Ada%40Example.com", query={"idProperty": "email"})
    assert resp.status == 200
    assert resp.parsed()["id"] == contact_id


def test_missing_contact_is_404_object_not_found(hs: HubSpotSandbox) -> None:
    error = assert_hubspot_error(call(hs, "GET", "/crm/v3/objects/contacts/777"), 404, "OBJECT_NOT_FOUND")
    assert error["message"] == "Object not found.  objectId are usually numeric."
    assert error["context"] == {"id": ["777"]}


def test_patch_contact(hs: HubSpotSandbox) -> None:
    contact_id = upsert(hs, "ada@example.com", firstname="Ada").parsed()["results"][0]["id"]
    path = f"/crm/v3/objects/contacts/{contact_id}"

    resp = call(hs, "PATCH", path, {"properties": {"lastname": "Lovelace"}})

    assert resp.status == 200
    body = resp.parsed()
    assert set(body) == {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert body["properties"]["lastname"] == "Lovelace"
    error = assert_hubspot_error(call(hs, "PATCH", path, {"properties": {}}), 400, "VALIDATION_ERROR")
    assert error["message"] == "No properties found to update, please provide at least one."
    missing = call(hs, "PATCH", "/crm/v3/objects/contacts/999", {"properties": {"lastname": "X"}})
    assert_hubspot_error(missing, 404, "OBJECT_NOT_FOUND")
    bad = call(hs, "PATCH", path, {"properties": {"nope": "x"}})
    assert assert_hubspot_error(bad, 400, "VALIDATION_ERROR")["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"


def test_patch_email_keeps_emails_unique(hs: HubSpotSandbox) -> None:
    ada = upsert(hs, "ada@example.com").parsed()["results"][0]["id"]
    upsert(hs, "grace@example.com")
    taken = call(
        hs, "PATCH", f"/crm/v3/objects/contacts/{ada}", {"properties": {"email": "Grace@example.com"}}
    )
    assert_hubspot_error(taken, 400, "VALIDATION_ERROR")

    moved = call(
        hs, "PATCH", f"/crm/v3/objects/contacts/{ada}", {"properties": {"email": "Ada.L@example.com"}}
    )
    assert moved.status == 200
    assert upsert(hs, "ada.l@example.com").parsed()["results"][0]["id"] == ada
    assert upsert(hs, "ada@example.com").parsed()["results"][0]["new"] is True


def test_list_contacts_pages_with_after(hs: HubSpotSandbox) -> None:
    ids = [upsert(hs, f"p{i}@example.com").parsed()["results"][0]["id"] for i in range(5)]

    first = call(hs, "GET", "/crm/v3/objects/contacts", query={"limit": "2"}).parsed()
    assert [r["id"] for r in first["results"]] == ids[:2]
    after = first["paging"]["next"]["after"]
    assert first["paging"]["next"]["link"].startswith("https://api.hubapi.com/crm/v3/objects/contacts?")
    rest = call(hs, "GET", "/crm/v3/objects/contacts", query={"limit": "10", "after": after}).parsed()
    assert [r["id"] for r in rest["results"]] == ids[2:]
    assert "paging" not in rest


# --- notes ----------------------------------------------------------------------------------------


def note_body(contact_id: str, **properties: str) -> dict[str, Any]:
    return {
        "properties": properties,
        "associations": [
            {
                "to": {"id": contact_id},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}],
            }
        ],
    }


def test_note_create_with_association(hs: HubSpotSandbox) -> None:
    contact_id = upsert(hs, "ada@example.com").parsed()["results"][0]["id"]

    resp = call(
        hs,
        "POST",
        "/crm/v3/objects/notes",
        note_body(contact_id, hs_timestamp="1714564800000", hs_note_body="Hi"),
    )

    assert resp.status == 201
    note = resp.parsed()
    assert set(note) == {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert note["properties"]["hs_timestamp"] == "2024-05-01T12:00:00.000Z"  # ms epoch normalized
    assert note["properties"]["hs_object_id"] == note["id"]
    state = call(hs, "GET", "/_state").parsed()
    assert state["notes"][0]["associations"] == {
        "contacts": {"results": [{"id": contact_id, "type": "note_to_contact"}]}
    }
    assert state["contacts"][0]["associations"] == {
        "notes": {"results": [{"id": note["id"], "type": "contact_to_note"}]}
    }
    fetched = call(
        hs, "GET", f"/crm/v3/objects/notes/{note['id']}", query={"associations": "contacts"}
    ).parsed()
    assert fetched["associations"]["contacts"]["results"][0]["id"] == contact_id


def test_note_requires_hs_timestamp(hs: HubSpotSandbox) -> None:
    contact_id = upsert(hs, "ada@example.com").parsed()["results"][0]["id"]
    resp = call(hs, "POST", "/crm/v3/objects/notes", note_body(contact_id, hs_note_body="Hi"))
    error = assert_hubspot_error(resp, 400, "VALIDATION_ERROR")
    assert error["message"] == "Error creating NOTE. Some required properties were not set."
    assert error["context"] == {"properties": ["hs_timestamp"]}


def test_note_to_a_missing_contact_or_with_a_wrong_type_is_rejected(hs: HubSpotSandbox) -> None:
    body = note_body("999", hs_timestamp="2024-05-01T12:00:00Z")
    assert_hubspot_error(call(hs, "POST", "/crm/v3/objects/notes", body), 400, "VALIDATION_ERROR")
    contact_id = upsert(hs, "ada@example.com").parsed()["results"][0]["id"]
    body = note_body(contact_id, hs_timestamp="2024-05-01T12:00:00Z")
    body["associations"][0]["types"][0]["associationTypeId"] = 201  # contact -> note: wrong direction
    assert_hubspot_error(call(hs, "POST", "/crm/v3/objects/notes", body), 400, "VALIDATION_ERROR")
    assert not hs.notes


def test_unknown_note_property_is_rejected(hs: HubSpotSandbox) -> None:
    body = {"properties": {"hs_timestamp": "2024-05-01T12:00:00Z", "body": "x"}}
    error = assert_hubspot_error(call(hs, "POST", "/crm/v3/objects/notes", body), 400, "VALIDATION_ERROR")
    assert error["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"


# --- owners and properties ------------------------------------------------------------------------


def test_owners_list(hs: HubSpotSandbox) -> None:
    owners = call(hs, "GET", "/crm/v3/owners").parsed()["results"]
    assert owners
    assert {
        "id",
        "email",
        "type",
        "firstName",
        "lastName",
        "userId",
        "createdAt",
        "updatedAt",
        "archived",
    } <= set(owners[0])
    by_email = call(hs, "GET", "/crm/v3/owners", query={"email": owners[1]["email"].upper()}).parsed()
    assert [o["id"] for o in by_email["results"]] == [owners[1]["id"]]


def test_properties_list_and_create(hs: HubSpotSandbox) -> None:
    listed = {p["name"]: p for p in call(hs, "GET", "/crm/v3/properties/contacts").parsed()["results"]}
    assert listed["message"]["hubspotDefined"] is True
    assert listed["utm_source"]["type"] == "string"
    assert "hubspotDefined" not in listed["utm_source"]
    assert [o["value"] for o in listed["lifecyclestage"]["options"]][:2] == ["subscriber", "lead"]

    definition = {
        "name": "budget",
        "label": "Budget",
        "type": "number",
        "fieldType": "number",
        "groupName": "contactinformation",
    }
    created = call(hs, "POST", "/crm/v3/properties/contacts", definition)
    assert created.status == 201
    assert created.parsed()["name"] == "budget"
    assert upsert(hs, "a@b.co", budget="1000").status == 200
    assert_hubspot_error(
        call(hs, "POST", "/crm/v3/properties/contacts", definition), 409, "OBJECT_ALREADY_EXISTS"
    )
    assert call(hs, "GET", "/crm/v3/properties/contacts/budget").parsed()["label"] == "Budget"


@pytest.mark.parametrize(
    "change",
    [
        {"name": "Bad Name"},
        {"name": "hs_mine"},
        {"type": "text"},
        {"fieldType": "select"},
        {"groupName": "nope"},
        {"label": ""},
    ],
)
def test_property_definitions_are_checked(hs: HubSpotSandbox, change: dict[str, str]) -> None:
    definition = {
        "name": "good",
        "label": "Good",
        "type": "string",
        "fieldType": "text",
        "groupName": "contactinformation",
    }
    resp = call(hs, "POST", "/crm/v3/properties/contacts", {**definition, **change})
    assert_hubspot_error(resp, 400, "VALIDATION_ERROR")


# --- rate limits ----------------------------------------------------------------------------------


def test_rate_limit_headers_on_every_answer(hs: HubSpotSandbox) -> None:
    first = call(hs, "GET", "/crm/v3/owners")
    second = call(hs, "GET", "/crm/v3/owners")
    assert first.headers["x-hubspot-ratelimit-max"] == "100"
    assert first.headers["x-hubspot-ratelimit-interval-milliseconds"] == "10000"
    assert first.headers["x-hubspot-ratelimit-daily"] == "250000"
    assert (
        int(second.headers["x-hubspot-ratelimit-remaining"])
        == int(first.headers["x-hubspot-ratelimit-remaining"]) - 1
    )
    assert int(second.headers["x-hubspot-ratelimit-daily-remaining"]) == 250000 - 2


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_past_100_requests_in_10_seconds_answers_hubspots_429_by_default() -> None:
    clock = FakeClock()
    hs = HubSpotSandbox(clock=clock)
    statuses = []
    for _ in range(101):
        statuses.append(call(hs, "GET", "/crm/v3/owners").status)
        clock.now += 0.05  # 101 requests in about 5 s: inside one rolling 10 s window
    assert statuses == [200] * 100 + [429]

    limited = call(hs, "GET", "/crm/v3/owners")
    body = limited.parsed()
    assert limited.status == 429
    assert body["status"] == "error"
    assert body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert re.fullmatch(r"[0-9a-f-]{36}", body["correlationId"])
    assert limited.headers["x-hubspot-ratelimit-remaining"] == "0"
    assert limited.headers["x-hubspot-ratelimit-max"] == "100"
    assert 1 <= int(limited.headers["retry-after"]) <= 10
    records = call(hs, "GET", "/_requests", headers={}).parsed()["requests"]
    assert records[-1]["limit"] == "TEN_SECONDLY_ROLLING"
    assert records[-1]["fault"] is None

    clock.now += 10.0  # the first requests have left the window
    assert call(hs, "GET", "/crm/v3/owners").status == 200


def test_a_refused_request_is_not_served() -> None:
    clock = FakeClock()
    hs = HubSpotSandbox(clock=clock)
    for _ in range(100):
        call(hs, "GET", "/crm/v3/owners")
    assert upsert(hs, "late@example.com").status == 429
    assert hs.contacts == {}


def test_limits_lifted_by_the_constructor_never_refuse() -> None:
    hs = HubSpotSandbox(clock=FakeClock(), limits=False)
    assert {call(hs, "GET", "/crm/v3/owners").status for _ in range(150)} == {200}
    assert call(hs, "GET", "/_limits", headers={}).parsed()["enforce"] is False


def test_limits_lifted_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_SANDBOX_LIMITS", "off")
    hs = HubSpotSandbox(clock=FakeClock())
    assert {call(hs, "GET", "/crm/v3/owners").status for _ in range(150)} == {200}


def test_limits_lifted_and_restored_on_a_running_stand_in() -> None:
    hs = HubSpotSandbox(clock=FakeClock())
    lifted = call(hs, "POST", "/_limits", {"enforce": False}, headers={})
    assert lifted.status == 200 and lifted.parsed()["enforce"] is False
    assert {call(hs, "GET", "/crm/v3/owners").status for _ in range(120)} == {200}
    call(hs, "POST", "/_limits", {"enforce": True}, headers={})
    assert call(hs, "GET", "/crm/v3/owners").status == 429  # the 120 were counted all along
    limits = call(hs, "GET", "/_limits", headers={}).parsed()["limits"]
    burst = next(lim for lim in limits if lim["name"] == "TEN_SECONDLY_ROLLING")
    assert (burst["requests"], burst["per_s"], burst["counted"], burst["refused"]) == (100, 10.0, 120, 1)
    assert burst["source"].startswith("https://developers.hubspot.com/")


def test_a_bad_limits_setting_is_refused_with_what_to_send(hs: HubSpotSandbox) -> None:
    resp = call(hs, "POST", "/_limits", {"enforce": "no"}, headers={})
    assert resp.status == 400
    assert "enforce" in resp.parsed()["detail"]


# --- eventual consistency -------------------------------------------------------------------------


def test_with_a_lag_a_new_contact_is_missing_from_the_list_until_the_lag_passes() -> None:
    clock = FakeClock()
    hs = HubSpotSandbox(clock=clock, consistency_lag_s=2.0)
    contact_id = upsert(hs, "new@example.com").parsed()["results"][0]["id"]

    assert call(hs, "GET", "/crm/v3/objects/contacts").parsed()["results"] == []
    assert call(hs, "GET", f"/crm/v3/objects/contacts/{contact_id}").status == 200  # by id: at once

    clock.now += 2.0
    listed = call(hs, "GET", "/crm/v3/objects/contacts").parsed()["results"]
    assert [c["id"] for c in listed] == [contact_id]


def test_with_a_lag_a_new_note_is_missing_from_the_contacts_associations_until_the_lag_passes() -> None:
    clock = FakeClock()
    hs = HubSpotSandbox(clock=clock)
    contact_id = upsert(hs, "noted@example.com").parsed()["results"][0]["id"]
    call(hs, "POST", "/_consistency", {"lag_s": 1.5}, headers={})
    note = {
        "properties": {"hs_note_body": "hello", "hs_timestamp": "2024-05-01T12:00:00Z"},
        "associations": [
            {
                "to": {"id": contact_id},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}],
            }
        ],
    }
    note_id = call(hs, "POST", "/crm/v3/objects/notes", note).parsed()["id"]
    path = f"/crm/v4/objects/contacts/{contact_id}/associations/notes"

    assert call(hs, "GET", path).parsed()["results"] == []
    assert call(hs, "GET", f"/crm/v3/objects/notes/{note_id}").status == 200

    clock.now += 1.5
    assert [r["toObjectId"] for r in call(hs, "GET", path).parsed()["results"]] == [int(note_id)]
    assert call(hs, "GET", "/_consistency", headers={}).parsed() == {"lag_s": 1.5, "hidden": 1}


def test_without_a_lag_new_records_are_listed_at_once(hs: HubSpotSandbox) -> None:
    contact_id = upsert(hs, "now@example.com").parsed()["results"][0]["id"]
    assert [c["id"] for c in call(hs, "GET", "/crm/v3/objects/contacts").parsed()["results"]] == [contact_id]


@pytest.mark.parametrize("setting", [{"lag_s": -1}, {"lag_s": "soon"}, {"lag": 2}, {"lag_s": True}])
def test_a_bad_consistency_setting_is_refused(hs: HubSpotSandbox, setting: dict[str, Any]) -> None:
    resp = call(hs, "POST", "/_consistency", setting, headers={})
    assert resp.status == 400
    assert resp.parsed()["error"] == "invalid consistency setting"


# --- control endpoints ----------------------------------------------------------------------------


def test_requests_are_recorded_newest_last_with_the_token_masked(hs: HubSpotSandbox) -> None:
    upsert(hs, "ada@example.com", firstname="Ada")
    call(hs, "GET", "/crm/v3/owners", query={"limit": "5"})

    records = call(hs, "GET", "/_requests", headers={}).parsed()["requests"]

    assert [r["path"] for r in records] == [UPSERT, "/crm/v3/owners"]
    assert records[0]["method"] == "POST"
    assert records[0]["status"] == 200
    assert records[0]["headers"]["authorization"] == "Bearer ***"
    assert records[0]["json"]["inputs"][0]["id"] == "ada@example.com"
    assert ISO_MS.match(records[0]["time"])
    assert records[1]["query"] == {"limit": ["5"]}
    assert DEFAULT_TOKEN not in json.dumps(records)
    only = call(hs, "GET", "/_requests", query={"path": "owners"}).parsed()["requests"]
    assert len(only) == 1


def test_status_fault_with_a_path_filter_hits_only_matching_requests(hs: HubSpotSandbox) -> None:
    added = call(hs, "POST", "/_faults", {"kind": "status", "status": 503, "count": 2, "path": "/owners"})
    assert added.status == 201

    assert upsert(hs, "a@b.co").status == 200
    assert_hubspot_error(call(hs, "GET", "/crm/v3/owners"), 503, "INTERNAL_ERROR")
    assert call(hs, "GET", "/_faults").parsed()["faults"][0]["count"] == 1
    assert call(hs, "GET", "/crm/v3/owners").status == 503
    assert call(hs, "GET", "/crm/v3/owners").status == 200  # both counts used up
    assert [r["fault"] for r in call(hs, "GET", "/_requests").parsed()["requests"]] == [
        None,
        "status",
        "status",
        None,
    ]


def test_faults_apply_in_order(hs: HubSpotSandbox) -> None:
    call(
        hs, "POST", "/_faults", [{"kind": "status", "status": 500}, {"kind": "rate_limit", "retry_after": 3}]
    )
    assert call(hs, "GET", "/crm/v3/owners").status == 500
    limited = call(hs, "GET", "/crm/v3/owners")
    assert limited.status == 429
    assert limited.headers["retry-after"] == "3"
    assert limited.parsed()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert call(hs, "GET", "/crm/v3/owners").status == 200


def test_status_fault_can_carry_its_own_body(hs: HubSpotSandbox) -> None:
    call(
        hs,
        "POST",
        "/_faults",
        {"kind": "status", "status": 423, "body": {"status": "error", "message": "locked"}},
    )
    resp = call(hs, "GET", "/crm/v3/owners")
    assert resp.status == 423
    assert resp.parsed() == {"status": "error", "message": "locked"}


def test_slow_fault_delays_then_serves(hs: HubSpotSandbox) -> None:
    call(hs, "POST", "/_faults", {"kind": "slow", "delay_s": 0.2})
    started = time.perf_counter()
    assert upsert(hs, "a@b.co").status == 200
    assert time.perf_counter() - started >= 0.2


def test_delete_faults_and_invalid_faults(hs: HubSpotSandbox) -> None:
    call(hs, "POST", "/_faults", {"kind": "status", "status": 503, "count": 5})
    assert call(hs, "DELETE", "/_faults").parsed() == {"faults": []}
    assert call(hs, "GET", "/crm/v3/owners").status == 200
    for bad in ({"kind": "explode"}, {"kind": "status", "status": 200}, {"kind": "slow"}, b"nope"):
        resp = call(hs, "POST", "/_faults", bad)
        assert resp.status == 400
        assert resp.parsed()["error"] == "invalid fault"


def test_reset_clears_data_faults_and_records(hs: HubSpotSandbox) -> None:
    upsert(hs, "a@b.co")
    definition = {
        "name": "budget",
        "label": "B",
        "type": "number",
        "fieldType": "number",
        "groupName": "contactinformation",
    }
    assert call(hs, "POST", "/crm/v3/properties/contacts", definition).status == 201
    call(hs, "POST", "/_faults", {"kind": "status", "status": 503, "path": "/never"})

    assert call(hs, "POST", "/_reset").status == 200

    assert call(hs, "GET", "/_state").parsed() == {"contacts": [], "notes": []}
    assert call(hs, "GET", "/_requests").parsed() == {"requests": []}
    assert call(hs, "GET", "/_faults").parsed() == {"faults": []}
    assert upsert(hs, "a@b.co", budget="1").status == 400  # created properties are gone too
    assert upsert(hs, "a@b.co", utm_source="x").parsed()["results"][0]["id"] == "10001"  # ids restart


def test_unknown_routes(hs: HubSpotSandbox) -> None:
    assert call(hs, "GET", "/crm/v3/objects/widgets").status == 404
    assert call(hs, "DELETE", "/crm/v3/owners").status == 405
    assert call(hs, "GET", "/_nothing").status == 404


# --- concurrency ----------------------------------------------------------------------------------


def test_concurrent_upserts_of_one_email_make_one_contact(hs: HubSpotSandbox) -> None:
    results: list[dict[str, Any]] = []

    def work(i: int) -> None:
        results.append(upsert(hs, "Same@Example.com", firstname=f"n{i}").parsed()["results"][0])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(hs.contacts) == 1
    assert sum(r["new"] for r in results) == 1
    assert len({r["id"] for r in results}) == 1


def test_concurrent_distinct_upserts_get_distinct_ids(hs: HubSpotSandbox) -> None:
    threads = [threading.Thread(target=upsert, args=(hs, f"p{i}@example.com")) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(hs.contacts) == 24
    assert len(call(hs, "GET", "/_requests").parsed()["requests"]) == 24


# --- as_transport ---------------------------------------------------------------------------------


def test_as_transport_strips_the_gateway_mount_and_passes_the_read_timeout(hs: HubSpotSandbox) -> None:
    with httpx.Client(
        base_url="http://127.0.0.1:8787/_sandbox/hubspot", transport=as_transport(hs)
    ) as client:
        resp = client.get("/crm/v3/owners", headers=AUTH, params={"limit": "1"})
        assert resp.status_code == 200
        assert resp.headers["x-hubspot-ratelimit-max"] == "100"
        assert (
            hs.handle(SandboxRequest("GET", "/_requests")).parsed()["requests"][0]["path"] == "/crm/v3/owners"
        )

        client.post("/_faults", json={"kind": "slow", "delay_s": 1.0})
        with pytest.raises(httpx.ReadTimeout):
            client.post(
                UPSERT,
                headers=AUTH,
                json={"inputs": [{"id": "a@b.co", "idProperty": "email", "properties": {}}]},
                timeout=httpx.Timeout(0.05),
            )
    assert len(hs.contacts) == 1  # the slow server still did the work
