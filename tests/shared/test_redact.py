"""Masking personal data and credentials in text and JSON-like values."""

from __future__ import annotations

import pytest

from shared.redact import SENSITIVE_KEYS, redact, redact_text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("from jane.doe@example.com today", "from j***@example.com today"),
        ("Priya.Raman@Northwind-Traders.example", "P***@Northwind-Traders.example"),
        ("a+tag@sub.example.co.uk,b@x.io", "a***@sub.example.co.uk,b***@x.io"),
        ("<lena@fischer-kaffee.example>", "<l***@fischer-kaffee.example>"),
    ],
)
def test_emails_keep_their_first_letter_and_domain(text: str, masked: str) -> None:
    assert redact_text(text) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("+44 20 7946 0321", "***21"),
        ("call 087 123 4567 now", "call ***67 now"),
        ("(020) 7946 0321", "***21"),
        ("+1 (555) 010-9999", "***99"),
        ("tel: +4930123456789", "tel: ***89"),
        ("phone 030-1234-5678.", "phone ***78."),
    ],
)
def test_phone_numbers_keep_their_last_two_digits(text: str, masked: str) -> None:
    assert redact_text(text) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Authorization: Bearer pat-na1-1234abcd-5678", "Authorization: Bearer ***"),
        ("header: bearer abcdefgh", "header: bearer ***"),
        ("Basic dXNlcjpwYXNzd29yZA==", "Basic ***"),
        ("token sk_live_51Habcdefgh", "token ***"),
        ("secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw end", "secret whsec_*** end"),
        ("whsec_c3dpdGNoYm9hcmQ=", "whsec_***"),
    ],
)
def test_credentials_are_masked(text: str, masked: str) -> None:
    assert redact_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-29",
        "at 2026-03-29 10:15:00",
        "2026-03-29T10:15:00.123Z",
        "since 2026-03-29 10:15:00,123",
        "between 2026-03-29 and 2026-04-01 09:00",
        "Sun, 29 Mar 2026 10:15:00 GMT",
        "29/03/2026",
        "contact 10001",
        "contact ids 10001, 10002, 10003",
        "record 1234567890123",
        "ts 1774771200000",
        "0871234567",
        "uuid 3f1d6c2a-7b8e-4d5f-a9c0-1e2f3a4b5c6d",
        "msg_2pQ8vXh1kLmN3oR5sT7uW9yZ0a",
        "sha256-0123456789abcdef0123456789abcdef01234567",
        "hubspot POST /crm/v3/objects/contacts/batch/upsert: 503",
        "Bearer short",  # too short to be a credential
        "no @ here, and not@an-email",
    ],
)
def test_dates_ids_and_ordinary_text_are_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_day_first_dates_are_left_alone() -> None:
    assert redact_text("on 29.03.2026 10:15") == "on 29.03.2026 10:15"


def test_space_separated_ids_are_left_alone() -> None:
    assert redact_text("ids 10001 10002 10003") == "ids 10001 10002 10003"


def test_redact_masks_sensitive_keys_whatever_they_hold() -> None:
    value = {
        "Authorization": "Bearer x",
        "password": 1234,
        "api_key": {"nested": "thing"},
        "X-API-Key": "k",
        "previous_secret": None,
        "email": "jane.doe@example.com",
        "count": 3,
        "ok": True,
        "items": [{"token": "t", "note": "call +44 20 7946 0321"}, "bob@example.org", 7],
        "pair": ("amy@example.net", 1),
    }
    assert redact(value) == {
        "Authorization": "***",
        "password": "***",
        "api_key": "***",
        "X-API-Key": "***",
        "previous_secret": "***",
        "email": "j***@example.com",
        "count": 3,
        "ok": True,
        "items": [{"token": "***", "note": "call ***21"}, "b***@example.org", 7],
        "pair": ["a***@example.net", 1],
    }


def test_redact_does_not_change_its_input() -> None:
    value = {"email": "jane.doe@example.com", "token": "t"}
    redact(value)
    assert value == {"email": "jane.doe@example.com", "token": "t"}


def test_sensitive_keys_cover_the_credential_names() -> None:
    assert {"authorization", "secret", "previous_secret", "token", "cookie", "x-api-key"} <= SENSITIVE_KEYS
    assert "email" not in SENSITIVE_KEYS  # masked by content, not dropped: operators tell leads apart


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Authorization: Bearer pat-na1-1234abcd-5678 sent", "Authorization: Bearer *** sent"),
        ("token sk_live_51Habcdefgh.", "token ***."),
        ("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln, retrying", "Bearer ***, retrying"),
        ("basic dXNlcjpwYXNz then", "basic *** then"),
        ("token AbCdEfGhIjKl expired", "token *** expired"),  # mixed case is not a word
        ("token deadbeefcafebabedeadbeef failed", "token *** failed"),  # longer than any word
        ("Bearer abcdefgh", "Bearer ***"),  # a lone run where a header value would end
    ],
)
def test_real_credentials_after_bearer_token_basic_are_still_masked(text: str, masked: str) -> None:
    assert redact_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "its refresh token expired. Authorise it again",
        "token expired.",
        "token revoked",
        "token has expired",
        "the access token expired; refreshing",
        "refresh token invalidated, connect it again",
        "Basic authentication failed",
        "HTTP Basic authentication is not enabled for this app",
        "bearer token rejected (401)",
        "Token Re-authorisation required: run switchboard connect",
    ],
)
def test_ordinary_words_after_bearer_token_basic_are_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_a_revoked_connection_reason_keeps_what_the_operator_must_do() -> None:
    reason = (
        "quickbooks refused to refresh connection 'quickbooks' (invalid_grant): the app was disconnected "
        "or its refresh token expired. Authorise it again, store the new refresh token with "
        "`switchboard secrets set quickbooks refresh_token=-`, then `switchboard dlq redrive <integration>`"
    )
    assert redact_text(reason) == reason
    assert redact({"reason": reason}) == {"reason": reason}


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("token: deadbeef0123456789abcdef", "token: ***"),
        ("Token: deadbeef0123456789abcdef failed", "Token: *** failed"),
        ("token:deadbeef0123456789abcdef", "token:***"),
        ("GET /cb?token=deadbeef0123456789abcdef&state=1", "GET /cb?token=***&state=1"),
        ("refresh_token: 1//0gAbCdEfGhIjKl-mNoP", "refresh_token: ***"),
        ("access_token=ya29.a0AfH6SMBx1234", "access_token=***"),
        ('body {"token": "sk_live_51Habcdefgh", "ok": false}', 'body {"token": "***", "ok": false}'),
        ("Bearer: pat-na1-1234abcd-5678", "Bearer: ***"),
    ],
)
def test_a_credential_after_a_colon_or_an_equals_sign_is_masked(text: str, masked: str) -> None:
    assert redact_text(text) == masked


@pytest.mark.parametrize(
    "code",
    [
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "invalid_token",
        "insufficient_scope",
    ],
)
@pytest.mark.parametrize(
    "template",
    ["token {}", "refresh token {}.", "token {}: the app was disconnected", "token: {}", "Bearer {} (401)"],
)
def test_oauth_error_codes_stay_readable(code: str, template: str) -> None:
    """RFC 6749 section 5.2 / RFC 6750 section 3.1: the code says why the token was refused."""
    text = template.format(code)
    assert redact_text(text) == text
    assert redact({"reason": text}) == {"reason": text}


def test_a_credential_shaped_like_an_error_code_is_still_masked() -> None:
    assert redact_text("token invalid_grant_x9Zk2") == "token ***"
    assert redact_text("token my_secret_value") == "token ***"
