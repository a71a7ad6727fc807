"""slack_interactivity through the production handler: moto (queue, bus) and the app stand-ins.

Clicks are signed and posted as Slack posts them (``payload=<JSON>``, ``X-Slack-Signature``). What
the worker puts on the bus is read where EventBridge delivers it - the queues of the flows that
consume ``chat.button_clicked`` - and, for the whole path, lead_followup's queue is drained too.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from apps.google_calendar.standin import GoogleCalendarSandbox
from apps.hubspot.standin import HubSpotSandbox
from apps.slack.interactivity import InteractionForm
from apps.slack.standin import SlackSandbox
from functions.slack_interactivity.spec import accept_click, click_id
from infra.local.resources import LocalResources
from infra.local.sample_links import from_sandboxes, resolve
from infra.local.samples import EVENTS_DIR, Lookup, Sample, load_sample, load_samples
from sandbox.base import SandboxApp, SandboxRequest
from shared.events import BUTTON_CLICKED, ButtonClicked
from shared.registry import load_spec
from shared.runtime import Runtime
from shared.webhooks.base import WebhookRequest
from tests.support import dlq_messages, drain, send_sample

SPEC = load_spec("slack_interactivity")
SAMPLES = load_samples(SPEC)
#: Samples that continue others (a click on the offer a lead's sample got posted): run below.
LINKED = [s for s in SAMPLES if s.after or s.lookups]
ALONE = [s for s in SAMPLES if s not in LINKED]
HOST = "hooks.example.test"
REQUEST = WebhookRequest(
    method="POST", url=f"https://{HOST}/hooks/slack_interactivity/slack", headers={}, body=b""
)


def sample(name: str) -> Sample:
    return load_sample(EVENTS_DIR / "slack_interactivity" / f"{name}.json", SPEC)


def payload_of(s: Sample) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(parse_qs(s.body.decode())["payload"][0])
    return document


def with_payload(s: Sample, payload: dict[str, Any]) -> Sample:
    return replace(s, body=urlencode({"payload": json.dumps(payload)}).encode(), lookups={})


def accepted(payload: dict[str, Any]) -> list[Any]:
    return list(accept_click(InteractionForm.model_validate({"payload": payload}), REQUEST))


def bus_events(rt: Runtime, resources: LocalResources, consumer: str) -> list[dict[str, Any]]:
    """The ``chat.button_clicked`` events EventBridge delivered to ``consumer``'s queue (left unread)."""
    url, _ = resources.queue_urls(consumer)
    got = rt.aws("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    events = [json.loads(m["Body"]) for m in got.get("Messages", [])]
    return [e for e in events if e.get("detail-type") == BUTTON_CLICKED]


def create_contact(hubspot: HubSpotSandbox, email: str, **properties: str) -> str:
    res = hubspot.handle(
        SandboxRequest(
            method="POST",
            path="/crm/v3/objects/contacts/batch/upsert",
            headers={"authorization": "Bearer sandbox-hubspot-token"},
            body=json.dumps(
                {
                    "inputs": [
                        {"id": email, "idProperty": "email", "properties": {"email": email, **properties}}
                    ]
                }
            ).encode(),
        )
    )
    assert res.status == 200, res.body
    return str(res.parsed()["results"][0]["id"])


def emails_to(address: str) -> list[Any]:
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    return [m for m in sent if address in str(m.destinations)]


@pytest.fixture
def rt(make_runtime: Any) -> Runtime:
    made: Runtime = make_runtime("slack_interactivity", retry_scale=0)
    return made


@pytest.fixture
def slack(sandboxes: dict[str, SandboxApp]) -> SlackSandbox:
    app = sandboxes["slack"]
    assert isinstance(app, SlackSandbox)
    return app


# --- samples ----------------------------------------------------------------------------------------


def test_there_are_samples_of_every_outcome_and_the_linked_ones_continue_a_lead() -> None:
    assert {s.expect for s in SAMPLES} == {"processed", "ignored", "rejected"}
    assert {s.expect_status for s in SAMPLES if s.expect != "rejected"} == {200}
    assert sample("book_them_in").after == ("website_to_crm/tally_form_response",)
    assert sample("book_them_in_double_click").lookups == sample("book_them_in").lookups


@pytest.mark.parametrize("s", ALONE, ids=[s.name for s in ALONE])
def test_every_sample_that_stands_alone_ends_as_it_says(s: Sample, rt: Runtime) -> None:
    answer = send_sample(rt, s, host=HOST)
    assert answer["statusCode"] == s.expect_status, answer
    ids = json.loads(answer["body"]).get("ids")
    assert (ids is not None and len(ids) > 0) == (s.expect == "processed"), answer
    drain(rt)
    assert not dlq_messages(rt)


# --- the answer and the event -----------------------------------------------------------------------


def test_a_click_is_answered_200_with_its_id_and_put_on_the_bus_once(
    rt: Runtime, resources: LocalResources
) -> None:
    s = sample("other_flows_button")
    answers = [
        send_sample(rt, s, host=HOST),
        send_sample(rt, replace(s, headers={**s.headers, "x-slack-retry-num": "1"}), host=HOST),
    ]
    wanted = click_id("C0GENERAL01", "1795166400.000400", "stock.reorder", "U07SAMREP1")
    for answer in answers:
        assert answer["statusCode"] == 200  # Slack asks for "HTTP 200 OK"; 202 may show as a failure
        assert json.loads(answer["body"]) == {"id": wanted, "ids": [wanted]}
    drain(rt)
    [event] = bus_events(rt, resources, "lead_followup")  # the retry was a duplicate: one event
    clicked = ButtonClicked.model_validate(event["detail"])
    assert clicked.model_dump() == {
        "action_id": "stock.reorder",
        "value": "sku:LOAF-SOURDOUGH",
        "user_id": "U07SAMREP1",
        "user_name": "sam.owner",
        "channel": "C0GENERAL01",
        "message_ts": "1795166400.000400",
        "app": "slack",
        "source_event_id": wanted,
    }
    assert event["source"] == "switchboard" and event["detail"]["integration"] == "slack_interactivity"
    assert len(bus_events(rt, resources, "mcp")) == 1  # every flow with buttons hears it


def test_a_forged_click_is_refused_with_json_and_queues_nothing(
    rt: Runtime, resources: LocalResources
) -> None:
    answer = send_sample(rt, sample("forged_signature"), host=HOST)
    assert answer["statusCode"] == 401
    assert json.loads(answer["body"])["error"] == "invalid_signature"
    drain(rt)
    assert bus_events(rt, resources, "lead_followup") == []


def test_a_channel_id_too_long_for_the_event_is_refused_naming_it(rt: Runtime) -> None:
    payload = payload_of(sample("other_flows_button"))
    payload["container"]["channel_id"] = "C" * 41
    del payload["channel"]
    answer = send_sample(rt, with_payload(sample("other_flows_button"), payload), host=HOST)
    assert answer["statusCode"] == 400
    [error] = json.loads(answer["body"])["errors"]
    assert error["field"] == "payload.container.channel_id"


# --- what is one click --------------------------------------------------------------------------------


def test_one_work_item_per_button_keyed_on_the_message_and_the_button() -> None:
    payload = payload_of(sample("other_flows_button"))
    button = payload["actions"][0]
    menu = {"action_id": "stock.pick", "block_id": "b2", "type": "static_select", "action_ts": "1.2"}
    second = {**button, "action_id": "stock.snooze", "value": "sku:LOAF-SOURDOUGH"}
    work = accepted({**payload, "actions": [button, menu, second]})
    assert [w.event_id for w in work] == [
        "click:C0GENERAL01:1795166400.000400:stock.reorder:U07SAMREP1",
        "click:C0GENERAL01:1795166400.000400:stock.snooze:U07SAMREP1",
    ]  # the select menu is not a button
    assert accepted(payload)[0].event_id == work[0].event_id  # a double click: the same id
    someone_else = {**payload, "user": {**payload["user"], "id": "U0ANNA0001"}}
    assert accepted(someone_else)[0].event_id.endswith(":stock.reorder:U0ANNA0001")  # two people: two clicks


def test_a_click_outside_a_message_in_a_channel_is_no_work() -> None:
    assert accepted(payload_of(sample("modal_button_ignored"))) == []
    payload = payload_of(sample("other_flows_button"))
    payload["container"] = {"type": "message", "channel_id": "C0GENERAL01"}
    del payload["message"]
    assert accepted(payload) == []


def test_the_user_name_falls_back_to_the_username() -> None:
    payload = payload_of(sample("other_flows_button"))
    payload["user"] = {"id": "U07SAMREP1", "username": "sam"}
    [work] = accepted(payload)
    assert work.data.user_name == "sam"


# --- the whole path from samples: offer -> click sample aimed by its lookup -> booking ---------------


def test_the_click_samples_aim_at_the_offer_and_book_it_once(
    make_runtime: Any,
    rt: Runtime,
    slack: SlackSandbox,
    hubspot: HubSpotSandbox,
    sandboxes: dict[str, SandboxApp],
) -> None:
    """As ``make dev`` does: the offer is posted first, then the click samples are filled from the
    Slack stand-in (``lookup``: the newest Book them in button of Priya Raman's offer) - the double
    click from the same answer, though the first click took the buttons away."""
    followup = make_runtime("lead_followup", retry_scale=0)
    contact = create_contact(
        hubspot,
        "priya.raman@northwind-traders.example",
        firstname="Priya",
        lastname="Raman",
        hubspot_owner_id="41629779",
    )
    scored = load_sample(EVENTS_DIR / "lead_followup" / "lead_scored_hot.json", followup.spec)
    followup.aws("events").put_events(
        Entries=[
            {
                "Source": "switchboard",
                "DetailType": scored.detail_type,
                "Detail": json.dumps({**scored.detail, "contact_id": contact, "score": 75}),
                "EventBusName": followup.bus,
            }
        ]
    )
    drain(followup)
    [offer] = slack.messages
    answers: dict[Lookup, Any] = {}
    fetch = from_sandboxes(sandboxes)
    first = resolve(sample("book_them_in"), fetch, answers)
    assert payload_of(first)["container"] == {
        "type": "message",
        "message_ts": offer["ts"],
        "channel_id": offer["channel"],
        "is_ephemeral": False,
    }
    assert payload_of(first)["actions"][0]["value"] == f"contact:{contact}"
    assert send_sample(rt, first, host=HOST)["statusCode"] == 200
    drain(rt)
    drain(followup)
    assert slack.messages[0]["text"].startswith("Booked ") and "blocks" in slack.messages[0]
    again = resolve(sample("book_them_in_double_click"), fetch, answers)
    assert payload_of(again)["container"] == payload_of(first)["container"]
    assert send_sample(rt, again, host=HOST)["statusCode"] == 200
    drain(rt)
    drain(followup)
    google = sandboxes["google_calendar"]
    assert isinstance(google, GoogleCalendarSandbox) and len(google.events()) == 1
    assert len(hubspot.state().get("meetings", [])) == 1
    assert len(emails_to("priya.raman@northwind-traders.example")) == 1
    assert not dlq_messages(rt) and not dlq_messages(followup)
