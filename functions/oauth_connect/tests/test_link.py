"""The state of a connect link: signed, expiring, for one app, spent once (functions/oauth_connect/link.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

import pytest

from functions.oauth_connect.link import (
    MAX_STATE_CHARS,
    Link,
    StateRefused,
    new_link,
    new_state_key,
    pkce_pair,
    record_link,
    sign_state,
    use_link,
    verify_state,
)
from infra.local.resources import LocalResources
from shared.table import Table

KEY = new_state_key()
NOW = 1_800_000_000.0


def refused(state: str | None, *, key: str = KEY, app: str = "quickbooks", now: float = NOW) -> str:
    with pytest.raises(StateRefused) as caught:
        verify_state(key, state, app=app, now=now)
    return caught.value.reason


def test_a_signed_state_comes_back_as_the_link_it_names() -> None:
    link = new_link("quickbooks", "quickbooks", NOW, 600)
    state = sign_state(KEY, link)
    assert re.fullmatch(r"v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}", state)
    assert len(state) < MAX_STATE_CHARS
    assert verify_state(KEY, state, app="quickbooks", now=NOW + 599) == link
    assert link.expires_at == int(NOW + 600) and len(link.nonce) >= 22  # 128 random bits


def test_a_forged_state_is_refused_before_anything_else_is_looked_at() -> None:
    link = Link("n0nce", "quickbooks", "quickbooks", int(NOW + 600))
    state = sign_state(KEY, link)
    version, payload, signature = state.split(".")
    # A payload changed after signing (a later expiry, another connection) keeps the old signature.
    longer = (
        base64.urlsafe_b64encode(
            json.dumps({"n": "n0nce", "a": "quickbooks", "c": "quickbooks", "e": 4_102_444_800}).encode()
        )
        .decode()
        .rstrip("=")
    )
    assert refused(f"{version}.{longer}.{signature}") == "forged"
    assert refused(sign_state(new_state_key(), link)) == "forged"  # another stage's key
    assert refused(f"{version}.{payload}.{signature[:-2]}AA") == "forged"
    assert refused(f"v2.{payload}.{signature}") == "forged"
    assert refused("not-a-state") == "forged"
    assert refused("v1..") == "forged"
    assert refused("v1." + "A" * MAX_STATE_CHARS + ".x") == "forged"
    assert refused(state, key="") == "forged"  # no key stored yet: no state is ours
    # An expired forgery is still "forged": nothing about a state we did not sign is revealed.
    expired = Link("n0nce", "quickbooks", "quickbooks", int(NOW - 60))
    assert refused(sign_state(new_state_key(), expired)) == "forged"


def test_an_expired_state_and_a_state_for_another_app_are_refused() -> None:
    link = new_link("quickbooks", "quickbooks", NOW, 600)
    state = sign_state(KEY, link)
    assert refused(state, now=NOW + 600) == "expired"
    assert refused(state, app="google_calendar") == "wrong_app"
    assert refused(None) == "missing" and refused("") == "missing"


def test_the_pkce_pair_is_rfc_7636_s256() -> None:
    verifier, challenge = pkce_pair()
    assert re.fullmatch(r"[A-Za-z0-9._~-]{43,128}", verifier)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    assert challenge == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert pkce_pair()[0] != verifier


def test_a_link_is_spent_once_and_its_verifier_forgotten(resources: LocalResources, aws: Any) -> None:
    table = Table(aws.client("dynamodb"), resources.table)
    link = new_link("google_calendar", "google_calendar", NOW, 600)
    record_link(
        table,
        link,
        redirect_uri="https://api.example.test/oauth/google_calendar/callback",
        code_verifier="v" * 64,
    )
    stored = table.get(f"oauth_connect#link#{link.nonce}")
    assert stored is not None and stored["code_verifier"] == "v" * 64
    assert int(stored["expiration"]) == link.expires_at + 86_400  # the table's TTL cleans up

    record = use_link(table, link, NOW)
    assert record.redirect_uri == "https://api.example.test/oauth/google_calendar/callback"
    assert record.code_verifier == "v" * 64
    assert table.get(f"oauth_connect#link#{link.nonce}") is None
    with pytest.raises(StateRefused) as replayed:
        use_link(table, link, NOW + 1)
    assert replayed.value.reason == "used"


def test_a_signed_state_without_its_record_is_unknown_and_still_spent(
    resources: LocalResources, aws: Any
) -> None:
    table = Table(aws.client("dynamodb"), resources.table)
    link = new_link("quickbooks", "quickbooks", NOW, 600)
    with pytest.raises(StateRefused) as unknown:
        use_link(table, link, NOW)
    assert unknown.value.reason == "unknown"
    with pytest.raises(StateRefused) as again:
        use_link(table, link, NOW)
    assert again.value.reason == "used"
    # A record for another connection of the same nonce is not this link's.
    other = Link(link.nonce + "x", "quickbooks", "quickbooks", link.expires_at)
    record_link(
        table,
        Link(other.nonce, "quickbooks", "someone_else", link.expires_at),
        redirect_uri="https://x.test/cb",
    )
    with pytest.raises(StateRefused) as mismatch:
        use_link(table, other, NOW)
    assert mismatch.value.reason == "unknown"
