"""The HubSpot client against the sandbox (in-process, no sockets), and the v3 webhook verifier."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import pytest

from apps.hubspot import (
    APP,
    CONNECTION,
    SIGNING,
    VERIFIER_V3,
    contact_url,
    hubspot_v3_uri,
    is_app_url,
    portal_of,
)
from apps.hubspot.client import HubSpotClient, _created_by_earlier_attempt
from apps.hubspot.models import Contact, parse_error
from apps.hubspot.notes import NOTE_BODY_MAX_CHARS, note_html
from apps.hubspot.properties import (
    CUSTOM_PROPERTIES,
    DEFAULT_LEAD_PROPERTIES,
    NUMEMPLOYEES_OPTIONS,
    numemployees_option,
)
from apps.hubspot.standin import DEFAULT_TOKEN, HubSpotSandbox
from sandbox.base import SandboxRequest, as_transport
from shared.app import App
from shared.errors import (
    MissingSecret,
    RateLimited,
    SignatureMismatch,
    SignatureMissing,
    TargetRejected,
    TargetTimeout,
    TargetUnavailable,
    TimestampOutOfTolerance,
)
from shared.http import ApiClient
from shared.ledger import AttemptWindow
from shared.webhooks.base import WebhookRequest


@pytest.fixture
def sandbox() -> HubSpotSandbox:
    return HubSpotSandbox()


def make_client(sandbox: HubSpotSandbox, token: str = DEFAULT_TOKEN, app: App = APP) -> HubSpotClient:
    return HubSpotClient(ApiClient(app, {"token": token}, transport=as_transport(sandbox)))


@pytest.fixture
def client(sandbox: HubSpotSandbox) -> HubSpotClient:
    return make_client(sandbox)


def add_fault(sandbox: HubSpotSandbox, fault: dict[str, object]) -> None:
    resp = sandbox.handle(SandboxRequest("POST", "/_faults", body=json.dumps(fault).encode()))
    assert resp.status == 201, resp.parsed()


def recorded(sandbox: HubSpotSandbox) -> list[dict[str, object]]:
    requests: list[dict[str, object]] = sandbox.handle(SandboxRequest("GET", "/_requests")).parsed()[
        "requests"
    ]
    return requests


# --- app description ------------------------------------------------------------------------------


def test_local_connection_matches_the_sandbox_token() -> None:
    """``make dev`` stores CONNECTION.local; the sandbox must accept exactly that token."""
    assert CONNECTION.local["token"] == DEFAULT_TOKEN
    assert CONNECTION.local["base_url"] == "{sandbox}/hubspot"
    assert SIGNING.kind == "signing"
    assert SIGNING.fields == ("secret",)
    assert SIGNING.optional == ("previous_secret",)
    assert SIGNING.local["secret"]


def test_custom_properties_are_not_hubspot_defaults() -> None:
    names = {d["name"] for d in CUSTOM_PROPERTIES}
    assert names == {
        "lead_source",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
        "switchboard_lead_score",
        "switchboard_lead_score_reason",
    }
    assert not names & set(DEFAULT_LEAD_PROPERTIES)
    for definition in CUSTOM_PROPERTIES:
        assert {"name", "label", "type", "fieldType", "groupName"} <= set(definition)


def test_importing_the_app_module_does_not_import_httpx() -> None:
    """The ingress path imports the package (verifier, signing) and its webhook model: no client,
    no API models, and no httpx on that path."""
    code = (
        "import sys, apps.hubspot, apps.hubspot.webhooks; "
        "print('httpx' in sys.modules, sorted(m for m in sys.modules if m.startswith('apps.hubspot.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False ['apps.hubspot.webhooks']"


# --- contacts -------------------------------------------------------------------------------------


def test_upsert_twice_with_the_same_email_updates_one_contact(
    client: HubSpotClient, sandbox: HubSpotSandbox
) -> None:
    first = client.upsert_contact("ada@example.com", {"firstname": "Ada", "lifecyclestage": "lead"})
    second = client.upsert_contact("ada@example.com", {"lastname": "Lovelace"})

    assert first.is_new is True
    assert second.is_new is False
    assert first.id == second.id
    assert first.id.isdigit()
    assert len(sandbox.contacts) == 1
    stored = client.get_contact(first.id, properties=["firstname", "lastname", "lifecyclestage"])
    assert stored.properties == {"firstname": "Ada", "lastname": "Lovelace", "lifecyclestage": "lead"}


def test_email_is_matched_case_insensitively(client: HubSpotClient, sandbox: HubSpotSandbox) -> None:
    first = client.upsert_contact("Ada.Lovelace@Example.COM", {"firstname": "Ada"})
    second = client.upsert_contact("  ada.lovelace@example.com ", {"phone": "+44 20 7946 0000"})

    assert second.id == first.id
    assert second.is_new is False
    assert len(sandbox.contacts) == 1
    found = client.find_contact_by_email("ADA.LOVELACE@example.com")
    assert found is not None
    assert found.id == first.id
    assert found.properties["email"] == "ada.lovelace@example.com"


def test_lead_properties_and_custom_properties_are_written(client: HubSpotClient) -> None:
    properties = {
        "firstname": "Grace",
        "lastname": "Hopper",
        "phone": "+1 555 0100",
        "company": "Navy",
        "lifecyclestage": "lead",
        "hs_lead_status": "NEW",
        "hubspot_owner_id": "41629779",
        "message": "Please call me back",
        "lead_source": "website",
        "utm_source": "newsletter",
        "utm_medium": "email",
        "utm_campaign": "spring",
    }
    contact = client.upsert_contact("grace@example.com", properties)

    stored = client.get_contact(contact.id, properties=list(properties))
    assert stored.properties == properties
    assert stored.created_at.tzinfo is not None


def test_update_contact_sets_and_clears_properties(client: HubSpotClient) -> None:
    contact = client.upsert_contact("ada@example.com", {"firstname": "Ada", "company": "Analytical"})

    updated = client.update_contact(
        contact.id,
        {"lifecyclestage": "lead", "hs_lead_status": "NEW", "hubspot_owner_id": "41629779", "company": ""},
    )

    assert updated.id == contact.id
    assert updated.properties["lifecyclestage"] == "lead"
    stored = client.get_contact(contact.id, properties=["firstname", "company", "hubspot_owner_id"])
    assert stored.properties == {"firstname": "Ada", "hubspot_owner_id": "41629779"}
    with pytest.raises(TargetRejected) as caught:
        client.update_contact("999999", {"firstname": "X"})
    assert caught.value.status == 404


def test_find_contact_by_email_returns_none_when_absent(client: HubSpotClient) -> None:
    assert client.find_contact_by_email("nobody@example.com") is None


def test_get_unknown_contact_is_rejected_404(client: HubSpotClient) -> None:
    with pytest.raises(TargetRejected) as caught:
        client.get_contact("999999")
    assert caught.value.status == 404
    assert "OBJECT_NOT_FOUND" in caught.value.message


# --- notes ----------------------------------------------------------------------------------------


def test_note_is_associated_with_the_contact(client: HubSpotClient, sandbox: HubSpotSandbox) -> None:
    contact = client.upsert_contact("ada@example.com", {"firstname": "Ada"})
    when = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))

    note = client.create_note(contact.id, "Hello <team>,\nplease call me.", when)

    assert note.id.isdigit()
    assert note.id != contact.id
    assert note.properties["hs_timestamp"] == "2024-05-01T10:30:15.123Z"
    assert note.properties["hs_note_body"] == "Hello &lt;team&gt;,<br>please call me."
    with_notes = client.get_contact(contact.id, associations=["notes"])
    assert [a.id for a in with_notes.associations["notes"].results] == [note.id]
    (sent,) = [r["json"] for r in recorded(sandbox) if r["path"] == "/crm/v3/objects/notes"]
    assert sent["associations"] == [  # type: ignore[index]
        {
            "to": {"id": contact.id},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}],
        }
    ]


def test_note_for_a_missing_contact_is_rejected(client: HubSpotClient) -> None:
    with pytest.raises(TargetRejected) as caught:
        client.create_note("424242", "hi", datetime.now(UTC))
    assert caught.value.status == 400


def test_naive_note_timestamp_is_a_programming_error(client: HubSpotClient) -> None:
    contact = client.upsert_contact("ada@example.com", {})
    with pytest.raises(ValueError, match="timezone-aware"):
        client.create_note(contact.id, "hi", datetime(2024, 1, 1))


def test_note_html_escapes_and_fits_hubspots_limit() -> None:
    assert note_html("a & b\r\nc") == "a &amp; b<br>c"
    long = note_html("<" * 70_000)
    assert len(long) <= NOTE_BODY_MAX_CHARS
    assert long.endswith("\u2026")
    assert "&l\u2026" not in long  # never cut inside an entity


# --- errors, as ApiClient maps them ---------------------------------------------------------------


def test_wrong_token_is_rejected_401(sandbox: HubSpotSandbox) -> None:
    client = make_client(sandbox, token="pat-na1-wrong")
    with pytest.raises(TargetRejected) as caught:
        client.upsert_contact("ada@example.com", {})
    assert caught.value.status == 401
    assert caught.value.app == "hubspot"
    assert "INVALID_AUTHENTICATION" in caught.value.message
    assert not sandbox.contacts


def test_503_is_target_unavailable(client: HubSpotClient, sandbox: HubSpotSandbox) -> None:
    add_fault(sandbox, {"kind": "status", "status": 503, "count": 1})
    with pytest.raises(TargetUnavailable):
        client.upsert_contact("ada@example.com", {})
    assert client.upsert_contact("ada@example.com", {}).is_new is True  # the fault was used up


def test_429_is_rate_limited_with_retry_after(client: HubSpotClient, sandbox: HubSpotSandbox) -> None:
    add_fault(sandbox, {"kind": "rate_limit", "retry_after": 2, "count": 1})
    with pytest.raises(RateLimited) as caught:
        client.upsert_contact("ada@example.com", {})
    assert caught.value.retry_after == 2.0


def test_unknown_property_is_rejected_400_naming_it(client: HubSpotClient) -> None:
    with pytest.raises(TargetRejected) as caught:
        client.upsert_contact("ada@example.com", {"favourite_colour": "teal"})
    assert caught.value.status == 400
    assert "favourite_colour" in caught.value.message
    assert "PROPERTY_DOESNT_EXIST" in caught.value.message


def test_invalid_lifecycle_stage_is_rejected(client: HubSpotClient) -> None:
    with pytest.raises(TargetRejected, match="INVALID_OPTION"):
        client.upsert_contact("ada@example.com", {"lifecyclestage": "Lead"})


def test_slow_answer_beyond_the_read_timeout_is_target_timeout(sandbox: HubSpotSandbox) -> None:
    impatient = dataclasses.replace(APP, read_timeout_s=0.05)
    client = make_client(sandbox, app=impatient)
    add_fault(sandbox, {"kind": "slow", "delay_s": 0.5})

    with pytest.raises(TargetTimeout):
        client.upsert_contact("ada@example.com", {"firstname": "Ada"})
    # Like a real slow server, the write happened; the retry must (and does) find it.
    assert client.upsert_contact("ada@example.com", {"firstname": "Ada"}).is_new is False


def test_error_bodies_parse_as_hubspot_errors(sandbox: HubSpotSandbox) -> None:
    resp = sandbox.handle(SandboxRequest("GET", "/crm/v3/objects/contacts/1"))
    error = parse_error(resp.body.decode())
    assert error is not None
    assert error.category == "INVALID_AUTHENTICATION"
    assert error.correlation_id
    assert parse_error("<html>bad gateway</html>") is None
    assert parse_error('{"unrelated": true}') is None


# --- owners and properties ------------------------------------------------------------------------


def test_list_owners(client: HubSpotClient) -> None:
    owners = client.list_owners()
    assert owners
    assert all(o.id.isdigit() for o in owners)
    only = client.list_owners(email=owners[0].email)
    assert [o.id for o in only] == [owners[0].id]


def test_custom_properties_can_be_created_by_a_setup_step() -> None:
    bare = HubSpotSandbox(custom_properties=())
    client = make_client(bare)
    with pytest.raises(TargetRejected):
        client.upsert_contact("ada@example.com", {"utm_source": "x"})

    for definition in CUSTOM_PROPERTIES:
        created = client.create_property(definition)
        assert created.name == definition["name"]
        assert not created.hubspot_defined
    with pytest.raises(TargetRejected) as caught:
        client.create_property(CUSTOM_PROPERTIES[0])
    assert caught.value.status == 409

    assert client.upsert_contact("ada@example.com", {"utm_source": "x"}).is_new is True
    names = {p.name for p in client.list_properties()}
    assert set(DEFAULT_LEAD_PROPERTIES) <= names


def test_get_property_reads_one_definition_or_none(client: HubSpotClient, sandbox: HubSpotSandbox) -> None:
    employees = client.get_property("numemployees")
    assert employees is not None and employees.type == "enumeration"
    assert tuple(o.value for o in employees.options) == NUMEMPLOYEES_OPTIONS
    assert not employees.modification_metadata.read_only_value
    source = client.get_property("hs_analytics_source")
    assert source is not None and source.modification_metadata.read_only_value
    assert client.get_property("no_such_property") is None
    paths = [r["path"] for r in recorded(sandbox)]
    assert paths[-1] == "/crm/v3/properties/contacts/no_such_property"


@pytest.mark.parametrize(
    ("count", "option"),
    [(0, None), (1, "1-5"), (5, "1-5"), (6, "5-25"), (100, "50-100"), (101, "100-500"), (10**6, "1000+")],
)
def test_a_head_count_falls_into_one_numemployees_option(count: int, option: str | None) -> None:
    """HubSpot's labels share their boundaries ("1-5", "5-25"): a boundary belongs to the lower one."""
    assert numemployees_option(count) == option


# --- record pages ----------------------------------------------------------------------------------


def test_a_contact_url_names_its_portal() -> None:
    url = contact_url("24681357", "51873001201")
    assert url == "https://app.hubspot.com/contacts/24681357/record/0-1/51873001201"
    assert portal_of(url) == "24681357" and is_app_url(url)
    eu = "https://app-eu1.hubspot.com/contacts/139876543/record/0-1/51873001201"
    assert portal_of(eu) == "139876543" and is_app_url(eu)


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "https://evil.example/contacts/1/record/0-1/2",
        "https://app.hubspot.com.evil.example/contacts/1/",
        "http://app.hubspot.com/contacts/1/record/0-1/2",
        "https://app.hubspot.com/contacts/abc/record/0-1/2",
    ],
)
def test_anything_else_names_no_portal(url: str | None) -> None:
    assert portal_of(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://app.hubspot.com/contacts/1/record/0-1/2|Click here",
        "https://app.hubspot.com/contacts/1/record/0-1/2>",
        'https://app.hubspot.com/contacts/1/"onmouseover=',
        "https://evil.example/contacts/1/record/0-1/2",
    ],
)
def test_a_link_that_could_end_early_or_leave_hubspot_is_not_an_app_url(url: str) -> None:
    assert not is_app_url(url)


# --- v3 webhook signatures --------------------------------------------------------------------------

SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
URL = "https://hooks.example.com/hubspot/events"
BODY = b'[{"eventId":1,"subscriptionType":"contact.creation","objectId":123}]'
NOW = 1_714_560_000.0


def signed(body: bytes = BODY, url: str = URL, now: float = NOW, secret: str = SECRET) -> WebhookRequest:
    headers = VERIFIER_V3.sign(method="POST", url=url, body=body, secret=secret, now=now, msg_id="")
    return WebhookRequest(method="POST", url=url, headers=headers, body=body)


def test_v3_sign_then_verify() -> None:
    request = signed()
    assert set(request.headers) == {"x-hubspot-signature-v3", "x-hubspot-request-timestamp"}
    assert request.headers["x-hubspot-request-timestamp"] == str(int(NOW * 1000))
    VERIFIER_V3.verify(request, [SECRET], now=NOW + 1)


def test_v3_matches_hubspots_own_test_vector() -> None:
    """From HubSpot/hubspot-api-python tests/spec/utils/test_signature.py (test_get_signature__v3)."""
    body = b"{'example_field':'example_value'}"
    request = WebhookRequest(
        method="POST",
        url="https://www.example.com/webhook_uri",
        headers={
            "x-hubspot-signature-v3": "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=",
            "x-hubspot-request-timestamp": "15000000",
        },
        body=body,
    )
    VERIFIER_V3.verify(request, [SECRET], now=15_000.0 + 10)
    headers = VERIFIER_V3.sign(
        method="POST", url=request.url, body=body, secret=SECRET, now=15_000.0, msg_id=""
    )
    assert headers["x-hubspot-signature-v3"] == "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="


def test_v3_tampered_body_is_a_mismatch() -> None:
    request = signed()
    tampered = dataclasses.replace(request, body=request.body.replace(b"123", b"124"))
    with pytest.raises(SignatureMismatch):
        VERIFIER_V3.verify(tampered, [SECRET], now=NOW)


def test_v3_wrong_secret_is_a_mismatch_and_rotation_accepts_the_previous_one() -> None:
    request = signed(secret="old-secret")
    with pytest.raises(SignatureMismatch):
        VERIFIER_V3.verify(request, ["new-secret"], now=NOW)
    VERIFIER_V3.verify(request, ["new-secret", "old-secret"], now=NOW)


def test_v3_older_than_five_minutes_is_rejected() -> None:
    request = signed(now=NOW)
    VERIFIER_V3.verify(request, [SECRET], now=NOW + 299)
    with pytest.raises(TimestampOutOfTolerance):
        VERIFIER_V3.verify(request, [SECRET], now=NOW + 301)


def test_v3_missing_headers_and_secrets() -> None:
    request = signed()
    no_timestamp = dataclasses.replace(request, headers={"x-hubspot-signature-v3": "abc="})
    with pytest.raises(SignatureMissing):
        VERIFIER_V3.verify(no_timestamp, [SECRET], now=NOW)
    with pytest.raises(MissingSecret):
        VERIFIER_V3.verify(request, [], now=NOW)


def test_v3_uri_decoding_rule() -> None:
    encoded = "https://x.io/h%3Aa%2Fb?q=%3F%40%21%24%27%28%29%2A%2C%3B"
    assert hubspot_v3_uri(encoded) == "https://x.io/h:a/b?q=?@!$'()*,;"
    assert hubspot_v3_uri("https://x.io/a%3ab%2f") == "https://x.io/a:b/"  # hex case is not significant
    # Only the listed escapes: others stay, and nothing is decoded twice.
    assert hubspot_v3_uri("https://x.io/a%20b%253A%26c") == "https://x.io/a%20b%253A%26c"


def test_v3_verifies_when_the_receiver_sees_the_uri_encoded() -> None:
    """HubSpot signs the URI with those characters decoded; the gateway may see them encoded."""
    decoded = "https://hooks.example.com/hubspot?portal=1&email=ada@example.com&tags=a,b"
    encoded = "https://hooks.example.com/hubspot?portal=1&email=ada%40example.com&tags=a%2Cb"
    request = dataclasses.replace(signed(url=decoded), url=encoded)
    VERIFIER_V3.verify(request, [SECRET], now=NOW)


# --- "new" after an earlier attempt: the ledger's window, bounded on both sides ---------------------


def _contact(created: datetime) -> Contact:
    stamp = created.isoformat().replace("+00:00", "Z")
    return Contact.model_validate({"id": "1", "properties": {}, "createdAt": stamp, "updatedAt": stamp})


@pytest.mark.parametrize(
    ("created_after_first_s", "counts_as_new"),
    [
        (-31, False),  # before the first attempt (and the clock skew): someone else's contact
        (-10, True),  # within the skew
        (300, True),  # while the attempts ran
        (3_600 + 30 + 29, True),  # up to the last attempt's start + run time + skew
        (5 * 86_400, False),  # days later, before a DLQ redrive: another lead created it
    ],
)
def test_a_contact_is_this_steps_only_if_made_while_its_attempts_ran(
    created_after_first_s: float, counts_as_new: bool
) -> None:
    first = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    window = AttemptWindow(first.timestamp(), first.timestamp() + 3_600 + 30)  # last start + 30 s run
    created = first + timedelta(seconds=created_after_first_s)
    assert _created_by_earlier_attempt(_contact(created), window) is counts_as_new
    assert _created_by_earlier_attempt(_contact(created), None) is False  # first attempt: HubSpot decides
