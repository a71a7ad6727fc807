"""The stand-ins' data saved and restored into new instances (``sandbox/snapshot.py``).

Each test drives the stand-ins through their HTTP API (in-process transport), saves, restores into a
fresh set, and checks the new set behaves as the old one would have: ids continue, a rotated OAuth
refresh token stays the valid one, configuration and the request log are the new instance's.
"""

from __future__ import annotations

import base64
import itertools
import pickle
import warnings

import httpx
import pytest

from sandbox import snapshot
from sandbox.base import SandboxApp, as_transport
from sandbox.registry import create_sandboxes

HUBSPOT = {"authorization": "Bearer sandbox-hubspot-token"}


def client(app: SandboxApp) -> httpx.Client:
    return httpx.Client(transport=as_transport(app, mount=""), base_url="http://sandbox.test")


def new_contact(app: SandboxApp, email: str) -> str:
    answer = client(app).post(
        "/crm/v3/objects/contacts/batch/upsert",
        json={"inputs": [{"id": email, "idProperty": "email", "properties": {"email": email}}]},
        headers=HUBSPOT,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["results"][0]["id"])


def round_trip(apps: dict[str, SandboxApp]) -> dict[str, SandboxApp]:
    saved = snapshot.loads(snapshot.dumps(snapshot.capture(apps)))
    fresh = create_sandboxes()
    snapshot.restore(fresh, saved)
    return fresh


def test_hubspot_contacts_and_ids_continue_in_a_new_instance() -> None:
    apps = create_sandboxes()
    first = new_contact(apps["hubspot"], "ada@example.com")
    restored = round_trip(apps)
    state = client(restored["hubspot"]).get("/_state").json()
    assert [c["properties"]["email"] for c in state["contacts"]] == ["ada@example.com"]
    second = new_contact(restored["hubspot"], "grace@example.com")
    assert int(second) > int(first)  # not 10001 again
    requests = client(restored["hubspot"]).get("/_requests").json()["requests"]
    assert [r["json"]["inputs"][0]["id"] for r in requests] == ["grace@example.com"]  # the log is not kept


def test_a_rotated_quickbooks_refresh_token_stays_the_valid_one() -> None:
    apps = create_sandboxes()
    qb = apps["quickbooks"]
    basic = base64.b64encode(b"sandbox-quickbooks-client_id:sandbox-quickbooks-client_secret").decode()

    def refresh(app: SandboxApp, token: str) -> httpx.Response:
        return client(app).post(
            "/oauth2/v1/tokens/bearer",
            content=f"grant_type=refresh_token&refresh_token={token}",
            headers={"content-type": "application/x-www-form-urlencoded", "authorization": f"Basic {basic}"},
        )

    rotated = refresh(qb, "sandbox-quickbooks-refresh_token")
    assert rotated.status_code == 200, rotated.text
    new_token = rotated.json()["refresh_token"]
    restored = round_trip(apps)
    assert (
        refresh(restored["quickbooks"], "sandbox-quickbooks-refresh_token").json()["error"] == "invalid_grant"
    )
    assert refresh(restored["quickbooks"], new_token).status_code == 200


def test_only_what_reset_data_assigns_is_data() -> None:
    apps = create_sandboxes()
    wanted = snapshot.data_attributes(apps["hubspot"])
    assert "contacts" in wanted[""] and "_ids" in wanted[""]
    assert "token" not in wanted[""] and "lock" not in wanted[""]  # configuration and wiring stay
    assert set(snapshot.data_attributes(apps["quickbooks"])["oauth"]) >= {
        "refresh_tokens",
        "used_refresh_tokens",
    }
    assert type(apps["hubspot"]).__name__ == "HubSpotSandbox"  # the probe's class swap left no trace


def test_id_counters_are_saved_without_pickling_itertools_count() -> None:
    counter = itertools.count(10_005, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Python 3.12+ warns when a count is pickled
        blob = snapshot.dumps({"x": {"": {"_ids": counter}}})
    restored = snapshot.loads(blob)["x"][""]["_ids"]
    assert (next(restored), next(restored)) == (10_005, 10_007)
    assert b"itertools\ncount" not in pickle.dumps(0)  # sanity: the reducer is ours, not pickle's


def test_data_of_another_shape_is_refused_whole() -> None:
    apps = create_sandboxes()
    new_contact(apps["hubspot"], "ada@example.com")
    saved = snapshot.capture(apps)
    del saved["slack"][""]["messages"]
    fresh = create_sandboxes()
    with pytest.raises(snapshot.SnapshotShapeChanged, match="slack stand-in keeps other data"):
        snapshot.restore(fresh, saved)
    assert client(fresh["hubspot"]).get("/_state").json()["contacts"] == []  # nothing restored in part
    saved = snapshot.capture(apps)
    del saved["stripe"]
    with pytest.raises(snapshot.SnapshotShapeChanged, match="it holds the stand-ins"):
        snapshot.restore(fresh, saved)
