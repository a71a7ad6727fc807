"""website_to_crm with its real sample events, through the production handler (moto + HubSpot sandbox).

Each sample in ``events/website_to_crm/`` is sent as its provider would (signed with the local
secret), then the queue is drained by the same poller the local runtime uses, and what the sandbox
HubSpot holds afterwards is checked.
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import replace
from typing import Any

import pytest

from apps.hubspot.standin import HubSpotSandbox
from infra.local.samples import EVENTS_DIR, Sample, load_sample, load_samples
from sandbox.base import SandboxApp, SandboxRequest, transport_for
from shared.errors import TargetUnavailable
from shared.ordering import EntityVersions
from shared.registry import load_spec
from shared.runtime import Runtime
from tests.support import ShortReads, dlq_messages, drain, poller, send_sample

SPEC = load_spec("website_to_crm")
HOST = "hooks.example.test"
SAMPLES = load_samples(SPEC)


def send(rt: Runtime, sample: Sample) -> dict[str, Any]:
    return send_sample(rt, sample, host=HOST)


def state(hubspot: HubSpotSandbox) -> dict[str, Any]:
    res = hubspot.handle(SandboxRequest(method="GET", path="/_state", query={}, headers={}, body=b""))
    return json.loads(res.body)


def add_faults(hubspot: HubSpotSandbox, faults: list[dict[str, Any]]) -> None:
    for fault in faults:
        res = hubspot.handle(
            SandboxRequest(
                method="POST", path="/_faults", query={}, headers={}, body=json.dumps(fault).encode()
            )
        )
        assert res.status < 300, res.body


def contacts_by_email(hubspot: HubSpotSandbox) -> dict[str, dict[str, Any]]:
    return {c["properties"]["email"]: c for c in state(hubspot)["contacts"]}


@pytest.fixture
def rt(make_runtime: Any) -> Runtime:
    return make_runtime("website_to_crm", retry_scale=0)


def test_there_are_samples_of_every_outcome() -> None:
    assert {s.expect for s in SAMPLES} == {"processed", "dlq", "spam", "rejected"}
    assert {s.trigger for s in SAMPLES} == {t.name for t in SPEC.triggers}


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_every_sample_event_ends_as_it_says(sample: Sample, rt: Runtime, hubspot: HubSpotSandbox) -> None:
    for app, faults in sample.faults.items():
        assert app == "hubspot"
        add_faults(hubspot, faults)
    result = send(rt, sample)
    assert result["statusCode"] == sample.expect_status, result["body"]
    body = json.loads(result["body"])
    drain(rt)
    contacts = state(hubspot)["contacts"]
    dlq = dlq_messages(rt)
    if sample.expect == "processed":
        assert body["ids"] and len(contacts) == 1 and not dlq
    elif sample.expect == "dlq":
        assert contacts == [] and len(dlq) == 1
        attrs = dlq[0]["MessageAttributes"]
        assert attrs["error"]["StringValue"] == "target_rejected"
        assert "INVALID_PHONE_NUMBER" in attrs["reason"]["StringValue"]
        assert attrs["event_id"]["StringValue"] == body["id"]
        assert attrs["attempts"]["StringValue"] == "1"  # permanent: not retried
    else:  # spam and rejected: nothing reached HubSpot or the DLQ
        assert contacts == [] and not dlq
        if sample.expect == "rejected":
            assert body["error"] and body["message"]


def test_the_same_person_three_ways_is_one_contact(rt: Runtime, hubspot: HubSpotSandbox) -> None:
    # One after the other, so the duplicate's skip is counted below; any order ends the same (the
    # newest submission's values win: test_any_order_of_submissions_ends_with_the_newest_values).
    for name in ("webhook_lead", "webhook_lead_resent", "tally_form_response"):
        assert (
            send(rt, load_sample(EVENTS_DIR / "website_to_crm" / f"{name}.json", SPEC))["statusCode"] == 202
        )
        drain(rt)
    contacts = contacts_by_email(hubspot)
    assert list(contacts) == ["priya.raman@northwind-traders.example"]
    priya = contacts["priya.raman@northwind-traders.example"]
    # The first lead created and qualified the contact; the re-sent webhook was a duplicate; Tally's
    # lead updated it (no second owner assignment) and added its own note.
    assert priya["properties"]["hubspot_owner_id"] == "41629779"
    assert priya["properties"]["lifecyclestage"] == "lead"
    assert priya["properties"]["utm_campaign"] == "november-news"  # the latest lead's UTM wins
    notes = state(hubspot)["notes"]
    assert len(notes) == 2
    upserts = [r for r in hubspot_requests(hubspot) if r["path"].endswith("/batch/upsert")]
    assert len(upserts) == 2  # the re-sent webhook never reached HubSpot


def hubspot_requests(hubspot: HubSpotSandbox) -> list[dict[str, Any]]:
    res = hubspot.handle(SandboxRequest(method="GET", path="/_requests", query={}, headers={}, body=b""))
    return list(json.loads(res.body)["requests"])


def test_owners_are_assigned_round_robin_to_new_contacts_only(rt: Runtime, hubspot: HubSpotSandbox) -> None:
    template = load_sample(EVENTS_DIR / "website_to_crm" / "form_post.json", SPEC)
    for email in ("a@one.example", "b@two.example", "c@three.example", "a@one.example"):
        body = f"name=Test+Person&email={email.replace('@', '%40')}&message=Hi+from+{email}&website=".encode()
        sample = Sample(**{**template.__dict__, "body": body})
        assert send(rt, sample)["statusCode"] == 202
        drain(rt)
    owners = {e: c["properties"].get("hubspot_owner_id") for e, c in contacts_by_email(hubspot).items()}
    assert owners == {"a@one.example": "41629779", "b@two.example": "41629780", "c@three.example": "41629779"}


def test_lead_created_is_emitted_once_with_the_contact(rt: Runtime, resources: Any, aws: Any) -> None:
    sqs, events = aws.client("sqs"), aws.client("events")
    url = sqs.create_queue(QueueName="observer")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="observe", EventBusName=resources.bus, EventPattern=json.dumps({"source": ["switchboard"]})
    )
    events.put_targets(Rule="observe", EventBusName=resources.bus, Targets=[{"Id": "q", "Arn": arn}])
    sample = load_sample(EVENTS_DIR / "website_to_crm" / "webhook_lead.json", SPEC)
    send(rt, sample)
    send(rt, sample)  # the provider re-sends: still one event on the bus
    drain(rt)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(got) == 1
    event = json.loads(got[0]["Body"])
    assert event["detail-type"] == "lead.created"
    detail = event["detail"]
    assert detail["source_event_id"] == sample.webhook_id
    assert detail["is_new_contact"] is True
    assert detail["crm_url"] == f"https://app.hubspot.com/contacts/24681357/record/0-1/{detail['contact_id']}"
    assert detail["lead"]["email"] == "priya.raman@northwind-traders.example"
    # What consumers read is what is emitted: the one declaration in shared/events.py.
    from apps.hubspot import portal_of
    from shared.events import LeadCreated

    parsed = LeadCreated.model_validate(detail)
    assert parsed.source_event_id == sample.webhook_id
    assert portal_of(parsed.crm_url) == "24681357"
    assert parsed.lead.utm.campaign == "wholesale-autumn"


def test_tally_fields_map_onto_the_lead() -> None:
    from functions.website_to_crm.models import TallyWebhook
    from functions.website_to_crm.spec import accept_tally

    raw = json.loads((EVENTS_DIR / "website_to_crm" / "tally_form_response.json").read_text())["body"]
    [accepted] = accept_tally(TallyWebhook.model_validate(raw), None)  # type: ignore[arg-type]
    lead = accepted.data.model_dump(mode="json")
    assert accepted.event_id == raw["eventId"]
    assert lead["first_name"] == "Priya" and lead["last_name"] == "Raman"
    assert lead["phone"] == "+442079460321"
    assert lead["consent"] is True
    assert lead["utm"] == {
        "source": "newsletter",
        "medium": "email",
        "campaign": "november-news",
        "term": None,
        "content": None,
    }
    assert lead["message"].startswith("Following up")
    assert lead["source"] == "tally" and lead["form_id"] == "wQ4dRv"


def test_form_resubmission_is_the_same_event(rt: Runtime, hubspot: HubSpotSandbox) -> None:
    sample = load_sample(EVENTS_DIR / "website_to_crm" / "form_post.json", SPEC)
    first = json.loads(send(rt, sample)["body"])["id"]
    second = json.loads(send(rt, sample)["body"])["id"]
    assert first == second
    drain(rt)
    assert len(state(hubspot)["notes"]) == 1


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ("email=x%40example.com&message=hi&website=", "body"),  # no name at all
        ("name=Jo&email=not-an-email&website=", "email"),
        ("name=Jo&email=jo%40example.com&phone=call+me&website=", "phone"),
        ("name=Jo&email=jo%40example.com&consent=maybe&website=", "consent"),
    ],
)
def test_invalid_forms_name_the_field(rt: Runtime, form: str, field: str) -> None:
    template = load_sample(EVENTS_DIR / "website_to_crm" / "form_post.json", SPEC)
    result = send(rt, Sample(**{**template.__dict__, "body": form.encode()}))
    assert result["statusCode"] == 400
    body = json.loads(result["body"])
    assert [e["field"] for e in body["errors"]] == [field]
    assert "call me" not in result["body"] and "not-an-email" not in result["body"]


# --- answers lost: the effect happened once, and the lead is still qualified ------------------------

UPSERT = "/crm/v3/objects/contacts/batch/upsert"


def late(path: str) -> dict[str, Any]:
    """HubSpot does the write, then answers after the client gave up (a timeout)."""
    return {"kind": "slow", "delay_s": 0.5, "serve_first": True, "path": path, "count": 1}


@pytest.fixture
def short(make_runtime: Any, sandboxes: dict[str, SandboxApp]) -> Runtime:
    # Retries wait 1.5-3 s (scaled back-off): long enough for a re-sent webhook to overtake one.
    return make_runtime(
        "website_to_crm", retry_scale=0.3, http_transport=ShortReads(transport_for(sandboxes), 0.2)
    )


def test_a_lost_upsert_answer_still_qualifies_the_new_contact(
    short: Runtime, hubspot: HubSpotSandbox
) -> None:
    add_faults(hubspot, [late(UPSERT)])
    send(short, load_sample(EVENTS_DIR / "website_to_crm" / "webhook_lead.json", SPEC))
    drain(short)
    [priya] = contacts_by_email(hubspot).values()
    # The retry was told "not new" by HubSpot, yet this event created the contact.
    assert priya["properties"]["hubspot_owner_id"] == "41629779"
    assert priya["properties"]["lifecyclestage"] == "lead"
    assert len(state(hubspot)["notes"]) == 1 and not dlq_messages(short)


def test_a_resent_webhook_that_overtakes_the_retry_still_qualifies(
    short: Runtime, hubspot: HubSpotSandbox
) -> None:
    """The defect the 4,000-event chaos run found (R21N3973): the re-sent delivery ran the upsert.

    It is a new message - receive count 1, its own receive time, both after the first attempt's
    write - so neither could tell that this event had created the contact.
    """
    add_faults(hubspot, [late(UPSERT)])
    sample = load_sample(EVENTS_DIR / "website_to_crm" / "webhook_lead.json", SPEC)
    send(short, sample)
    worker = poller(short)
    assert worker.poll_once() == 1  # the upsert's answer is lost; the message waits for its retry
    assert send(short, sample)["statusCode"] == 202  # the provider re-sends the same event
    worker.poll_once()  # the re-sent delivery, while the first one is still invisible
    drain(short)
    [priya] = contacts_by_email(hubspot).values()
    assert priya["properties"]["hubspot_owner_id"] == "41629779"
    assert priya["properties"]["lifecyclestage"] == "lead"
    upserts = [r for r in hubspot_requests(hubspot) if r["path"] == UPSERT]
    assert len(upserts) == 2 and len(state(hubspot)["notes"]) == 1 and not dlq_messages(short)


def test_a_lost_note_answer_leaves_one_note(short: Runtime, hubspot: HubSpotSandbox) -> None:
    add_faults(hubspot, [late("/crm/v3/objects/notes")])
    send(short, load_sample(EVENTS_DIR / "website_to_crm" / "webhook_lead.json", SPEC))
    drain(short)
    [note] = state(hubspot)["notes"]
    assert "Switchboard ref: " in note["properties"]["hs_note_body"]
    reads = [r["path"] for r in hubspot_requests(hubspot) if "associations/notes" in r["path"]]
    assert len(reads) == 1  # only the retry looked for the first attempt's note
    assert not dlq_messages(short)


# --- ordering: the newest submission's values win, whatever order the leads are processed in ---------

#: Three submissions of one person (email in any case), oldest first, and what each says.
SUBMISSIONS = (
    ("msg_order_1", "2026-11-20T09:00:00Z", "Ada@Example.org", "Old Co", "+44 20 7946 0001", "spring"),
    ("msg_order_2", "2026-11-20T10:00:00Z", "ada@example.org", "Middle Co", "+44 20 7946 0002", "summer"),
    ("msg_order_3", "2026-11-20T11:00:00Z", "ADA@example.org", "New Co", "+44 20 7946 0003", "autumn"),
)
#: Every order of the three, the oldest delivered twice (a provider's re-send): a seeded sample of the
#: 4!/2 = 12 distinct orders, bounded so the test stays quick.
ORDERS = sorted(set(itertools.permutations((0, 0, 1, 2))))
SAMPLED = random.Random(17).sample(ORDERS, 6)


def submission(n: int) -> Sample:
    webhook_id, at, email, company, phone, campaign = SUBMISSIONS[n]
    template = load_sample(EVENTS_DIR / "website_to_crm" / "webhook_lead.json", SPEC)
    body = {
        "type": "form.submitted",
        "timestamp": at,
        "data": {
            "form_id": "contact-us",
            "name": "Ada Lovelace",
            "email": email,
            "phone": phone,
            "company": company,
            "message": f"Submission {n + 1}",
            "utm_campaign": campaign,
        },
    }
    return replace(template, body=json.dumps(body).encode(), webhook_id=webhook_id)


@pytest.mark.parametrize("order", SAMPLED, ids=["-".join(str(i + 1) for i in o) for o in SAMPLED])
def test_any_order_of_submissions_ends_with_the_newest_values(
    order: tuple[int, ...], rt: Runtime, hubspot: HubSpotSandbox
) -> None:
    for n in order:
        assert send(rt, submission(n))["statusCode"] == 202
        drain(rt)
    [ada] = contacts_by_email(hubspot).values()
    props = ada["properties"]
    assert (props["company"], props["utm_campaign"]) == ("New Co", "autumn")
    assert props["phone"].replace(" ", "").endswith("79460003")
    assert props["hubspot_owner_id"] == "41629779"  # qualified once, by whichever lead created it
    notes = sorted(n["properties"]["hs_note_body"].split("<br>")[0] for n in state(hubspot)["notes"])
    assert notes == ["Submission 1", "Submission 2", "Submission 3"]  # every lead keeps its note
    assert not dlq_messages(rt)


def test_leads_of_one_person_in_one_batch_end_with_the_newest_values(
    rt: Runtime, hubspot: HubSpotSandbox
) -> None:
    # Newest first, all queued before the worker runs: one batch, records processed concurrently.
    for n in (2, 0, 1):
        assert send(rt, submission(n))["statusCode"] == 202
    drain(rt)
    [ada] = contacts_by_email(hubspot).values()
    assert ada["properties"]["company"] == "New Co" and ada["properties"]["utm_campaign"] == "autumn"
    assert len(state(hubspot)["notes"]) == 3 and not dlq_messages(rt)


def test_a_lead_whose_attempt_died_after_its_version_was_stored_is_still_qualified(
    rt: Runtime, hubspot: HubSpotSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attempt created the contact and stored its version, then ended before the ledger recorded
    the step (on Lambda: killed there; tests/e2e/test_chaos lost R22N58's qualification this way).
    The retry finds its own version applied: it must still learn that its lead created the contact."""
    record = EntityVersions._record
    died: list[str] = []

    def record_then_die(self: EntityVersions, key: str, token: str, version: str) -> str | None:
        previous = record(self, key, token, version)
        if not died:
            died.append(version)
            raise TargetUnavailable("the invocation ended here")
        return previous

    monkeypatch.setattr(EntityVersions, "_record", record_then_die)
    assert send(rt, submission(0))["statusCode"] == 202
    drain(rt)
    assert died
    [ada] = contacts_by_email(hubspot).values()
    assert ada["properties"]["hubspot_owner_id"] == "41629779"
    assert ada["properties"]["lifecyclestage"]
    assert len(state(hubspot)["notes"]) == 1 and not dlq_messages(rt)
