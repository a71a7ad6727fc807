"""lead_enrichment with its real sample events, through the production handler (moto + sandboxes).

Each sample in ``events/lead_enrichment/`` enters as EventBridge delivers a bus event to the queue
(the whole event as the SQS body), the queue is drained by the local runtime's poller, and what the
HubSpot and People Data Labs sandboxes saw and hold afterwards is checked.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from apps.hubspot.standin import HubSpotSandbox
from apps.peopledatalabs.standin import PeopleDataLabsSandbox
from functions.lead_enrichment.models import EnrichLead, LeadCreated
from functions.lead_enrichment.spec import accept_lead
from functions.website_to_crm.models import Lead
from infra.local.samples import EVENTS_DIR, Sample, load_sample, load_samples
from sandbox.base import SandboxApp
from shared.envelope import Envelope
from shared.registry import load_spec
from shared.runtime import Runtime
from shared.spec import Accepted, BusEvent
from tests.support import dlq_messages, drain

from .helpers import (
    add_default_company_properties,
    contact,
    control,
    hubspot_call,
    poll_once,
    requests_to,
    seed_contact,
    send_bus_event,
)

SPEC = load_spec("lead_enrichment")
SAMPLES = load_samples(SPEC)

#: The score each processed sample ends with (the README's worked examples).
EXPECTED_SCORES = {
    "lead_known_company": 95,
    "lead_free_mail": 0,
    "lead_unknown_company": 35,
    "lead_disposable_address": 0,
    "lead_pdl_rate_limited": 70,
    "lead_pdl_out_of_credits": 45,
}


def sample(name: str) -> Sample:
    return load_sample(EVENTS_DIR / "lead_enrichment" / f"{name}.json", SPEC)


def seeded(hubspot: HubSpotSandbox, name: str, **lead_changes: Any) -> dict[str, Any]:
    """The sample's ``lead.created`` detail, its contact created in the sandbox first (as website_to_crm did)."""
    detail = copy.deepcopy(sample(name).detail)
    detail["lead"].update(lead_changes)
    detail["contact_id"] = seed_contact(hubspot, detail["lead"]["email"])
    return detail


def observe(aws: Any, bus: str, detail_type: str) -> str:
    """A queue that receives every ``detail_type`` event on the bus: what a consumer would see."""
    sqs, events = aws.client("sqs"), aws.client("events")
    url = sqs.create_queue(QueueName=f"observe-{detail_type.replace('.', '-')}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["switchboard"], "detail-type": [detail_type]}
    events.put_rule(Name="observe", EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="observe", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return str(url)


def observed(aws: Any, url: str) -> list[dict[str, Any]]:
    got = aws.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in got]


# --- every sample ---------------------------------------------------------------------------------


def test_there_are_samples_of_every_outcome() -> None:
    assert {s.expect for s in SAMPLES} == {"processed", "dlq"}
    assert {s.name for s in SAMPLES if s.expect == "processed"} == set(EXPECTED_SCORES)
    assert {s.trigger for s in SAMPLES} == {"lead_created"}


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_every_sample_event_ends_as_it_says(
    sample: Sample, rt: Runtime, hubspot: HubSpotSandbox, sandboxes: dict[str, SandboxApp]
) -> None:
    detail = seeded(hubspot, sample.name)
    for app, faults in sample.faults.items():
        for fault in faults:
            control(sandboxes[app], "POST", "/_faults", fault)
    send_bus_event(rt, detail)
    drain(rt)
    props = contact(hubspot, detail["contact_id"])
    dlq = dlq_messages(rt)
    if sample.expect == "processed":
        assert not dlq
        assert props["switchboard_lead_score"] == str(EXPECTED_SCORES[sample.name])
        assert props["switchboard_lead_score_reason"]
    else:
        assert len(dlq) == 1
        attrs = dlq[0]["MessageAttributes"]
        assert attrs["error"]["StringValue"] == "target_rejected"
        assert "401" in attrs["reason"]["StringValue"]
        assert "authentication_error" in attrs["reason"]["StringValue"]
        assert attrs["attempts"]["StringValue"] == "1"  # permanent: not retried
        assert attrs["event_id"]["StringValue"] == f"enrich:{detail['source_event_id']}"
        assert "switchboard_lead_score" not in props
        assert requests_to(hubspot, f"/crm/v3/objects/contacts/{detail['contact_id']}") == []


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_the_samples_are_what_website_to_crm_emits(
    sample: Sample, make_runtime: Any, aws: Any, resources: Any
) -> None:
    """Contract: each sample's ``lead`` is a valid website_to_crm Lead, and the event has its shape."""
    url = observe(aws, resources.bus, "lead.created")
    producer = make_runtime("website_to_crm", retry_scale=0)
    lead = Lead.model_validate(sample.detail["lead"])
    accepted = Accepted(event_id=sample.detail["source_event_id"], type="form.submitted", data=lead)
    producer.aws("sqs").send_message(
        QueueUrl=producer.queue_url,
        MessageBody=Envelope.wrap("website_to_crm", "webhook", accepted).to_message(),
    )
    drain(producer)
    [event] = observed(aws, url)
    emitted = event["detail"]
    assert list(sample.detail) == list(emitted)
    assert list(sample.detail["lead"]) == list(emitted["lead"])
    assert sample.detail["lead"] == emitted["lead"]
    assert list(sample.detail["lead"]["utm"]) == list(emitted["lead"]["utm"])


def test_the_work_item_id_is_the_lead_events_id_and_carries_no_name_or_phone() -> None:
    detail = sample("lead_known_company").detail
    event = BusEvent(id="e-1", source="switchboard", detail_type="lead.created", time="", detail=detail)
    [accepted] = accept_lead(LeadCreated.model_validate(detail), event)
    assert accepted.event_id == "enrich:msg_2qR9wYj3mNn4pS6tU8vX0zA1bC"
    assert isinstance(accepted.data, EnrichLead)
    queued = accepted.data.model_dump_json()
    assert "Raman" not in queued and "2079460321" not in queued
    assert accepted.data.domain == "northwind-traders.example"


# --- the company lookup ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [("lead_free_mail", "free-mail domain"), ("lead_disposable_address", "disposable domain")],
)
def test_free_mail_and_disposable_addresses_are_not_looked_up(
    name: str,
    reason: str,
    rt: Runtime,
    hubspot: HubSpotSandbox,
    pdl: PeopleDataLabsSandbox,
    traced: list[dict[str, Any]],
) -> None:
    detail = seeded(hubspot, name)
    send_bus_event(rt, detail)
    drain(rt)
    assert requests_to(pdl) == []  # nothing reached People Data Labs
    [step] = [e for e in traced if e["stage"] == "effect" and e["step"] == "lookup_company"]
    assert "status=skipped" in step["summary"] and f"reason={reason}" in step["summary"]
    assert contact(hubspot, detail["contact_id"])["switchboard_lead_score"] == "0"


def test_an_unknown_company_is_a_normal_outcome(
    rt: Runtime, hubspot: HubSpotSandbox, pdl: PeopleDataLabsSandbox
) -> None:
    detail = seeded(hubspot, "lead_unknown_company")
    send_bus_event(rt, detail)
    drain(rt)
    [lookup] = requests_to(pdl, "/v5/company/enrich")
    assert lookup["status"] == 404
    assert lookup["query"]["website"] == ["hartley-joinery.example"]
    assert not dlq_messages(rt)
    props = contact(hubspot, detail["contact_id"])
    assert props["switchboard_lead_score"] == "35"
    assert props["switchboard_lead_score_reason"] == (
        "+5 source tally; +5 utm_source newsletter; +5 utm_medium email; "
        "+10 keyword 'standing order'; +10 keyword 'every week'"
    )
    assert "company" not in props and "industry" not in props


def test_the_lookup_asks_for_the_configured_likelihood(
    make_runtime: Any, hubspot: HubSpotSandbox, pdl: PeopleDataLabsSandbox
) -> None:
    rt = make_runtime("lead_enrichment", retry_scale=0, settings_json='{"min_likelihood": 9}')
    detail = seeded(hubspot, "lead_known_company")
    send_bus_event(rt, detail)
    drain(rt)
    [lookup] = requests_to(pdl, "/v5/company/enrich")
    assert lookup["query"]["min_likelihood"] == ["9"]
    assert lookup["status"] == 404  # the sandbox's Northwind match is likelihood 8: not good enough
    assert contact(hubspot, detail["contact_id"])["switchboard_lead_score"] == "35"  # source, utm, keywords


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "rate_limit", "retry_after": 1, "count": 1},
        {"kind": "status", "status": 402, "count": 1},
    ],
    ids=["429", "402"],
)
def test_quota_answers_back_off_then_the_lead_is_processed(
    fault: dict[str, Any],
    make_runtime: Any,
    hubspot: HubSpotSandbox,
    pdl: PeopleDataLabsSandbox,
    traced: list[dict[str, Any]],
) -> None:
    # retry_scale 0.02: the 402's computed back-off (15-30 s on attempt 1) becomes one second.
    rt = make_runtime("lead_enrichment", retry_scale=0.02)
    control(pdl, "POST", "/_faults", fault)
    detail = seeded(hubspot, "lead_pdl_rate_limited")
    send_bus_event(rt, detail)
    drain(rt)
    event_id = f"enrich:{detail['source_event_id']}"
    [retry] = [e for e in traced if e["stage"] == "retry" and e["event_id"] == event_id]
    assert retry["attempt"] == 1 and retry["delay_s"] >= 1  # the message was made invisible, not dropped
    assert str(fault.get("status", 429)) in retry["reason"]
    # A 429 is a wait (the target said when to come back): it spends no attempt. A 402 spends one.
    spent = [1, 1] if fault["kind"] == "rate_limit" else [1, 2]
    assert [e["attempt"] for e in traced if e["stage"] == "processing"] == spent
    assert [r["status"] for r in requests_to(pdl, "/v5/company/enrich")] == [fault.get("status", 429), 200]
    assert not dlq_messages(rt)
    assert contact(hubspot, detail["contact_id"])["switchboard_lead_score"] == "70"


def test_a_429_waits_as_long_as_retry_after_says(
    make_runtime: Any, hubspot: HubSpotSandbox, pdl: PeopleDataLabsSandbox, traced: list[dict[str, Any]]
) -> None:
    rt = make_runtime("lead_enrichment", retry_scale=1.0)
    control(pdl, "POST", "/_faults", {"kind": "rate_limit", "retry_after": 2, "count": 1})
    send_bus_event(rt, seeded(hubspot, "lead_pdl_rate_limited"))
    assert poll_once(rt) == 1  # the one receive that meets the 429: its wait is decided there
    assert not dlq_messages(rt)
    [retry] = [e for e in traced if e["stage"] == "retry"]
    # A 429 waits without spending an attempt, so it waits at least Retry-After and at least half its
    # back-off window (the receive backstop counts on that: shared.backoff.wait_delay).
    assert retry["waiting"] is True and retry["attempt"] == 1
    assert 2 <= retry["delay_s"] <= rt.spec.retry.wait_window_s(1)


def test_out_of_credits_recovers_once_credits_are_bought(
    rt: Runtime, hubspot: HubSpotSandbox, pdl: PeopleDataLabsSandbox
) -> None:
    pdl.set_credits(0)
    detail = seeded(hubspot, "lead_known_company")
    send_bus_event(rt, detail)
    assert poll_once(rt) == 1
    assert [r["status"] for r in requests_to(pdl, "/v5/company/enrich")] == [402]
    assert "switchboard_lead_score" not in contact(hubspot, detail["contact_id"])
    assert not dlq_messages(rt)  # still queued, waiting
    pdl.set_credits(100)  # bought on PDL's dashboard
    drain(rt)
    assert contact(hubspot, detail["contact_id"])["switchboard_lead_score"] == "95"
    assert control(pdl, "GET", "/_state")["credits"]["used"] == 1


# --- the HubSpot contact --------------------------------------------------------------------------


def test_the_contact_gets_company_industry_size_and_score(rt: Runtime, hubspot: HubSpotSandbox) -> None:
    add_default_company_properties(hubspot)
    detail = seeded(hubspot, "lead_known_company", company=None)  # the person typed no company
    send_bus_event(rt, detail)
    drain(rt)
    props = contact(hubspot, detail["contact_id"])
    assert props["company"] == "Northwind Traders"
    assert props["industry"] == "Food & Beverages"
    assert props["numemployees"] == "50-100"  # PDL 51-200, 87 employees
    assert props["switchboard_lead_score"] == "95"
    assert props["switchboard_lead_score_reason"] == (
        "+30 company 51-200 employees; +20 industry food & beverages; +10 country united kingdom; "
        "+5 source website_webhook; +10 utm_medium cpc; +10 keyword 'a week'; +5 keyword 'quote'; "
        "+5 keyword 'cafe'"
    )
    [patch] = [r for r in requests_to(hubspot, "/crm/v3/objects/contacts/") if r["method"] == "PATCH"]
    assert set(patch["json"]["properties"]) == {
        "company",
        "industry",
        "numemployees",
        "switchboard_lead_score",
        "switchboard_lead_score_reason",
    }


def test_a_typed_company_name_is_kept_unless_configured(make_runtime: Any, hubspot: HubSpotSandbox) -> None:
    keep = make_runtime("lead_enrichment", retry_scale=0)
    detail = seeded(hubspot, "lead_known_company", company="Northwind Cafés")
    hubspot_call(
        hubspot,
        "PATCH",
        f"/crm/v3/objects/contacts/{detail['contact_id']}",
        {"properties": {"company": "Northwind Cafés"}},
    )
    send_bus_event(keep, detail)
    drain(keep)
    assert contact(hubspot, detail["contact_id"])["company"] == "Northwind Cafés"

    overwrite = make_runtime("lead_enrichment", retry_scale=0, settings_json='{"overwrite_company": true}')
    send_bus_event(overwrite, {**detail, "source_event_id": "msg_another_lead"})
    drain(overwrite)
    assert contact(hubspot, detail["contact_id"])["company"] == "Northwind Traders"


def test_optional_properties_the_portal_lacks_are_not_written(rt: Runtime, hubspot: HubSpotSandbox) -> None:
    # The sandbox portal has no industry/numemployees: the score still lands, nothing is refused.
    detail = seeded(hubspot, "lead_known_company", company=None)
    send_bus_event(rt, detail)
    drain(rt)
    props = contact(hubspot, detail["contact_id"])
    assert "industry" not in props and "numemployees" not in props
    assert props["company"] == "Northwind Traders"
    assert props["switchboard_lead_score"] == "95"
    assert not dlq_messages(rt)


def test_a_size_the_portals_dropdown_does_not_offer_is_left_out(rt: Runtime, hubspot: HubSpotSandbox) -> None:
    add_default_company_properties(hubspot, options=("small", "medium", "large"))
    detail = seeded(hubspot, "lead_known_company")
    send_bus_event(rt, detail)
    drain(rt)
    props = contact(hubspot, detail["contact_id"])
    assert "numemployees" not in props and props["industry"] == "Food & Beverages"
    assert not dlq_messages(rt)


def test_a_merged_contact_is_found_again_by_email(
    rt: Runtime, hubspot: HubSpotSandbox, aws: Any, resources: Any
) -> None:
    url = observe(aws, resources.bus, "lead.scored")
    detail = seeded(hubspot, "lead_known_company")
    current_id = detail["contact_id"]
    send_bus_event(rt, {**detail, "contact_id": "95324188301"})  # an id HubSpot no longer has
    drain(rt)
    assert contact(hubspot, current_id)["switchboard_lead_score"] == "95"
    [event] = observed(aws, url)
    assert event["detail"]["contact_id"] == current_id
    assert event["detail"]["crm_url"] is None  # the lead's link pointed at the old record


def test_a_deleted_contact_is_nothing_to_update(
    rt: Runtime, hubspot: HubSpotSandbox, aws: Any, resources: Any, traced: list[dict[str, Any]]
) -> None:
    url = observe(aws, resources.bus, "lead.scored")
    send_bus_event(rt, sample("lead_known_company").detail)  # no such contact, by id or by email
    drain(rt)
    assert not dlq_messages(rt)
    assert observed(aws, url) == []  # nothing to announce
    [done] = [e for e in traced if e["stage"] == "processed"]
    assert "updated=False" in done["summary"]


def test_a_portal_without_the_score_properties_dead_letters_the_lead(
    rt: Runtime, hubspot: HubSpotSandbox
) -> None:
    # Nobody created Switchboard's custom properties: a setup error an operator must see and fix.
    hubspot.custom_properties = ()
    control(hubspot, "POST", "/_reset")
    detail = seeded(hubspot, "lead_free_mail")
    send_bus_event(rt, detail)
    drain(rt)
    [dead] = dlq_messages(rt)
    assert dead["MessageAttributes"]["error"]["StringValue"] == "target_rejected"
    assert "PROPERTY_DOESNT_EXIST" in dead["MessageAttributes"]["reason"]["StringValue"]
    assert dead["MessageAttributes"]["attempts"]["StringValue"] == "1"


def test_an_event_that_is_not_a_lead_goes_to_the_dlq(rt: Runtime) -> None:
    send_bus_event(
        rt, {"contact_id": "1", "source_event_id": "x", "lead": {"email": "not an email", "source": "x"}}
    )
    drain(rt)
    [dead] = dlq_messages(rt)
    assert dead["MessageAttributes"]["error"]["StringValue"] == "invalid_event"


# --- the lead.scored event ------------------------------------------------------------------------


def test_lead_scored_is_emitted_once_even_when_the_lead_arrives_twice(
    rt: Runtime, hubspot: HubSpotSandbox, pdl: PeopleDataLabsSandbox, aws: Any, resources: Any
) -> None:
    url = observe(aws, resources.bus, "lead.scored")
    detail = seeded(hubspot, "lead_known_company")
    send_bus_event(rt, detail)
    send_bus_event(rt, detail)  # EventBridge delivers at least once
    drain(rt)
    send_bus_event(rt, detail)  # and again, after it was processed
    drain(rt)
    [event] = observed(aws, url)
    assert event["detail-type"] == "lead.scored" and event["source"] == "switchboard"
    body = event["detail"]
    assert body["contact_id"] == detail["contact_id"]
    assert body["score"] == 95
    assert body["reason"].startswith("+30 company 51-200 employees; +20 industry food & beverages")
    assert body["lookup"] == "found"
    assert body["company"] == {
        "name": "Northwind Traders",
        "domain": "northwind-traders.example",
        "size": "51-200",
        "employee_count": 87,
        "industry": "food & beverages",
        "country": "united kingdom",
        "locality": "london",
        "linkedin_url": "linkedin.com/company/northwind-traders",
        "likelihood": 8,
    }
    assert body["lead_event_id"] == detail["source_event_id"]
    assert body["source_event_id"] == f"enrich:{detail['source_event_id']}"
    assert body["integration"] == "lead_enrichment"
    assert "priya" not in json.dumps(body).lower()  # no personal data on the bus
    assert len(requests_to(pdl, "/v5/company/enrich")) == 1  # one lookup, one credit


def test_logs_carry_outcomes_but_no_address_and_no_message(
    rt: Runtime, hubspot: HubSpotSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    send_bus_event(rt, seeded(hubspot, "lead_known_company"))
    drain(rt)
    [lookup] = [r for r in caplog.records if r.getMessage() == "company lookup"]
    assert [getattr(lookup, k) for k in ("lookup", "domain_kind", "likelihood")] == ["found", "company", 8]
    everything = json.dumps([vars(r) for r in caplog.records], default=str)
    assert "priya.raman@" not in everything and "sourdough" not in everything


# --- ordering: the newest lead's score stays on the contact, whatever order leads are enriched in ------


def _two_leads(hubspot: HubSpotSandbox) -> tuple[dict[str, Any], dict[str, Any]]:
    """An older and a newer lead of one contact whose scores differ (the newer one says 'a week')."""
    newer = seeded(hubspot, "lead_known_company", company=None)
    older = copy.deepcopy(newer)
    older["source_event_id"] = "msg_older_lead"
    older["lead"].update(message="Hello", submitted_at="2026-11-19T08:00:00.000000Z", utm={})
    return older, newer


@pytest.mark.parametrize(
    "order", [("older", "older", "newer"), ("older", "newer", "older"), ("newer", "older", "older")]
)
def test_any_order_of_two_leads_ends_with_the_newer_score(
    order: tuple[str, ...], rt: Runtime, hubspot: HubSpotSandbox, aws: Any, resources: Any
) -> None:
    add_default_company_properties(hubspot)
    older, newer = _two_leads(hubspot)
    url = observe(aws, resources.bus, "lead.scored")
    for which in order:  # the older lead twice: a redelivery
        send_bus_event(rt, older if which == "older" else newer)
        drain(rt)
    props = contact(hubspot, newer["contact_id"])
    assert (
        props["switchboard_lead_score"] == "95"
        and "keyword 'a week'" in props["switchboard_lead_score_reason"]
    )
    scored = [e["detail"] for e in observed(aws, url)]
    assert scored and scored[-1]["lead_event_id"] == newer["source_event_id"]
    assert not dlq_messages(rt)
