"""lead_followup through the production handler: moto (queue, bus, SES) and the app stand-ins.

Bus samples go on the Switchboard bus. Clicks take the way Slack's do: signed and posted as Slack
posts them (``payload=<JSON>``, ``X-Slack-Signature``) to slack_interactivity's route, whose worker
puts ``chat.button_clicked`` on the bus for this flow. The queues are drained by the local poller
and the outcome is read back from the stand-ins: the Slack message, the Google calendar, HubSpot's
meetings, the emails moto's SES accepted.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from apps.google_calendar import actions as google_actions
from apps.google_calendar.standin import OWNER as CAL_OWNER
from apps.google_calendar.standin import GoogleCalendarSandbox
from apps.hubspot.standin import HubSpotSandbox
from apps.slack.standin import SlackSandbox
from functions.lead_followup import worker
from functions.lead_followup.models import FollowUp
from functions.lead_followup.spec import accept_click
from functions.slack_interactivity.spec import click_id
from infra.local.runtime import local_settings
from infra.local.samples import EVENTS_DIR, Sample, load_sample, load_samples
from sandbox.base import SandboxApp, SandboxRequest, transport_for
from shared.events import BUTTON_CLICKED, ButtonClicked
from shared.registry import load_spec
from shared.runtime import Runtime
from shared.spec import BusEvent
from tests.support import ShortReads, dlq_messages, drain, send_sample

SPEC = load_spec("lead_followup")
CLICKS = load_spec("slack_interactivity")
SAMPLES = load_samples(SPEC)
FOLDER = EVENTS_DIR / "lead_followup"
REGION = "us-east-1"
HOST = "hooks.example.test"
LEAD = "amara@okafor-events.example"
OWNER = "41629779"  # Sam Owner, in the HubSpot stand-in; owner_channels sends it to #sales


def sample(name: str) -> Sample:
    return load_sample(FOLDER / f"{name}.json", SPEC)


def click_sample(name: str) -> Sample:
    """A click sample of slack_interactivity, the route every Slack click comes in by."""
    return load_sample(EVENTS_DIR / "slack_interactivity" / f"{name}.json", CLICKS)


def deliver(rt: Runtime, s: Sample) -> dict[str, Any]:
    if s.kind == "bus":
        put = rt.aws("events").put_events(
            Entries=[
                {
                    "Source": s.source,
                    "DetailType": s.detail_type,
                    "Detail": json.dumps(s.detail),
                    "EventBusName": rt.bus,
                }
            ]
        )
        assert put["FailedEntryCount"] == 0
        return {"statusCode": 202, "body": "{}"}
    return send_sample(rt, s, host=HOST)


def emails(to: str | None = None) -> list[Any]:
    sent = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    return [m for m in sent if to is None or to in _recipients(m)]


def _recipients(message: Any) -> list[str]:
    """Recipients of a simple (``{"ToAddresses": [...]}``) or raw (a list) SES message."""
    found = message.destinations
    return list(found.get("ToAddresses", [])) if isinstance(found, dict) else list(found)


def control(app: SandboxApp, method: str, path: str, body: Any = None) -> Any:
    raw = b"" if body is None else json.dumps(body).encode()
    res = app.handle(SandboxRequest(method=method, path=path, body=raw))
    assert res.status < 300, res.body
    return res.parsed()


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


def offer(rt: Runtime, contact_id: str, score: int = 82) -> None:
    """Deliver a scored lead for ``contact_id`` and process it."""
    s = sample("lead_scored_hot")
    deliver(rt, replace(s, detail={**s.detail, "contact_id": contact_id, "score": score}))
    drain(rt)


def click(
    clicks: Runtime, name: str, channel: str, ts: str, contact_id: str, **headers: str
) -> dict[str, Any]:
    """Post the click sample ``name`` to slack_interactivity, aimed at the message and contact given
    (what the replay's lookup does from the Slack stand-in; here the test names them)."""
    s = click_sample(name)
    payload = json.loads(parse_qs(s.body.decode())["payload"][0])
    payload["container"].update(message_ts=ts, channel_id=channel)
    payload["channel"] = {"id": channel, "name": "sales"}
    payload["message"]["ts"] = ts
    for action in payload["actions"]:
        action["value"] = f"contact:{contact_id}"
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return send_sample(clicks, replace(s, body=body, headers={**s.headers, **headers}, lookups={}), host=HOST)


def handled(clicks: Runtime, rt: Runtime) -> None:
    """The clicks verified and put on the bus (slack_interactivity), then acted on (lead_followup)."""
    drain(clicks)
    drain(rt)


@pytest.fixture
def rt(make_runtime: Any) -> Runtime:
    made: Runtime = make_runtime("lead_followup", retry_scale=0)
    return made


@pytest.fixture
def clicks(make_runtime: Any) -> Runtime:
    made: Runtime = make_runtime("slack_interactivity", retry_scale=0)
    return made


@pytest.fixture
def slack(sandboxes: dict[str, SandboxApp]) -> SlackSandbox:
    app = sandboxes["slack"]
    assert isinstance(app, SlackSandbox)
    return app


@pytest.fixture
def google(sandboxes: dict[str, SandboxApp]) -> GoogleCalendarSandbox:
    app = sandboxes["google_calendar"]
    assert isinstance(app, GoogleCalendarSandbox)
    return app


@pytest.fixture
def lead(hubspot: HubSpotSandbox) -> str:
    return create_contact(
        hubspot, LEAD, firstname="Amara", lastname="Okafor", company="Okafor Events", hubspot_owner_id=OWNER
    )


@pytest.fixture(autouse=True)
def _no_email_yet(aws: Any) -> None:
    assert emails() == []


def offered(rt: Runtime, slack: SlackSandbox, contact_id: str) -> dict[str, Any]:
    offer(rt, contact_id)
    [message] = slack.messages
    return message


def meetings(hubspot: HubSpotSandbox) -> list[dict[str, Any]]:
    return list(hubspot.state().get("meetings", []))


# --- samples ----------------------------------------------------------------------------------------


def test_there_are_samples_of_every_trigger_and_outcome() -> None:
    assert {s.trigger for s in SAMPLES} == {t.name for t in SPEC.triggers}
    assert {s.expect for s in SAMPLES} == {"processed", "ignored"}


@pytest.mark.parametrize("s", SAMPLES, ids=[s.name for s in SAMPLES])
def test_every_sample_event_ends_as_it_says(s: Sample, rt: Runtime, slack: SlackSandbox) -> None:
    answer = deliver(rt, s)
    assert answer["statusCode"] == (s.expect_status or 202), answer
    drain(rt)
    assert bool(dlq_messages(rt)) == (s.expect == "dlq")
    if s.expect == "ignored":
        assert slack.messages == []


# --- the offer ---------------------------------------------------------------------------------------


def test_a_hot_lead_is_offered_to_its_owner_with_two_buttons(
    rt: Runtime, slack: SlackSandbox, lead: str
) -> None:
    message = offered(rt, slack, lead)
    assert message["channel"] == "C0SALES0001"  # owner_channels: 41629779 -> #sales
    assert "Amara Okafor" in message["text"] and "82" in message["text"]
    [buttons] = [b for b in message["blocks"] if b["type"] == "actions"]
    assert [(e["action_id"], e["value"]) for e in buttons["elements"]] == [
        ("lead_followup.book", f"contact:{lead}"),
        ("lead_followup.not_now", f"contact:{lead}"),
    ]
    assert "company of 51-200" in json.dumps(message["blocks"])


def test_a_cold_lead_is_not_offered_unless_every_lead_is(
    make_runtime: Any, rt: Runtime, slack: SlackSandbox, lead: str
) -> None:
    offer(rt, lead, score=35)
    assert slack.messages == []
    settings = {**json.loads(local_settings(SPEC)), "every_lead": True}
    everyone = make_runtime("lead_followup", retry_scale=0, settings_json=json.dumps(settings))
    s = sample("lead_scored_cold")
    deliver(everyone, replace(s, detail={**s.detail, "contact_id": lead, "lead_event_id": "another-lead"}))
    drain(everyone)
    assert len(slack.messages) == 1


# --- book them in ------------------------------------------------------------------------------------


def test_book_them_in_books_logs_emails_and_updates_the_message(
    rt: Runtime,
    clicks: Runtime,
    slack: SlackSandbox,
    google: GoogleCalendarSandbox,
    hubspot: HubSpotSandbox,
    lead: str,
) -> None:
    message = offered(rt, slack, lead)
    answer = click(clicks, "book_them_in", message["channel"], message["ts"], lead)
    assert answer["statusCode"] == 200  # Slack's "HTTP 200 OK", from slack_interactivity
    handled(clicks, rt)
    [event] = google.events()
    assert [a["email"] for a in event["attendees"]] == [LEAD]
    [meeting] = meetings(hubspot)
    assert meeting["properties"]["hs_meeting_outcome"] == "SCHEDULED"
    [mail] = emails(LEAD)
    raw = str(mail.raw_data)
    assert 'filename="invite.ics"' in raw and "text/calendar" in raw
    [updated] = slack.messages
    assert updated["ts"] == message["ts"] and updated["text"].startswith("Booked ")
    assert "with Sam Owner" in updated["text"]
    assert not any(b["type"] == "actions" for b in updated.get("blocks", []))
    assert not dlq_messages(rt)


def test_a_double_click_and_slacks_retry_book_once(
    rt: Runtime,
    clicks: Runtime,
    slack: SlackSandbox,
    google: GoogleCalendarSandbox,
    hubspot: HubSpotSandbox,
    lead: str,
) -> None:
    message = offered(rt, slack, lead)
    first = click(clicks, "book_them_in", message["channel"], message["ts"], lead)
    second = click(clicks, "book_them_in", message["channel"], message["ts"], lead)
    retried = click(clicks, "book_them_in_double_click", message["channel"], message["ts"], lead)
    ids = {json.loads(a["body"])["id"] for a in (first, second, retried)}
    assert ids == {click_id(message["channel"], message["ts"], "lead_followup.book", "U07SAMREP1")}
    handled(clicks, rt)
    assert len(google.events()) == 1 and len(meetings(hubspot)) == 1 and len(emails(LEAD)) == 1


def test_a_click_put_on_the_bus_twice_books_once(
    rt: Runtime,
    clicks: Runtime,
    slack: SlackSandbox,
    google: GoogleCalendarSandbox,
    hubspot: HubSpotSandbox,
    lead: str,
) -> None:
    """The click's bus event is put again (an emit whose answer was lost): the same work item."""
    message = offered(rt, slack, lead)
    source = click_id(message["channel"], message["ts"], "lead_followup.book", "U07SAMREP1")
    detail = {
        "action_id": "lead_followup.book",
        "value": f"contact:{lead}",
        "user_id": "U07SAMREP1",
        "channel": message["channel"],
        "message_ts": message["ts"],
        "source_event_id": source,
    }
    bus = sample("button_clicked_not_a_contact")
    for _ in range(2):
        deliver(rt, replace(bus, detail=detail))
    drain(rt)
    assert len(google.events()) == 1 and len(meetings(hubspot)) == 1 and len(emails(LEAD)) == 1
    assert slack.messages[0]["text"].startswith("Booked ")


def test_a_lost_calendar_answer_does_not_make_a_second_meeting(
    make_runtime: Any,
    sandboxes: dict[str, SandboxApp],
    clicks: Runtime,
    slack: SlackSandbox,
    google: GoogleCalendarSandbox,
    lead: str,
) -> None:
    rt = make_runtime(
        "lead_followup", retry_scale=0, http_transport=ShortReads(transport_for(sandboxes), 0.2)
    )
    message = offered(rt, slack, lead)
    late = {
        "kind": "slow",
        "delay_s": 0.4,
        "serve_first": True,
        "path": "/calendar/v3/calendars/primary/events",
    }
    control(google, "POST", "/_faults", late)
    click(clicks, "book_them_in", message["channel"], message["ts"], lead)
    handled(clicks, rt)
    assert len(google.events()) == 1 and len(emails(LEAD)) == 1
    assert slack.messages[0]["text"].startswith("Booked ")


def test_a_slot_taken_after_the_search_sends_the_search_on(
    rt: Runtime,
    clicks: Runtime,
    slack: SlackSandbox,
    google: GoogleCalendarSandbox,
    lead: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = offered(rt, slack, lead)
    real = google_actions.FIND_SLOTS
    taken: list[Any] = []

    def racing(ctx: Any, data: Any) -> Any:
        found = real(ctx, data)
        if not taken and found.slots:  # someone books the first slot right after the search
            slot = found.slots[0]
            taken.append(slot)
            with google.lock:
                google.calendars[CAL_OWNER]["dentist"] = {
                    "id": "dentist",
                    "status": "confirmed",
                    "summary": "Dentist",
                    "start": {"dateTime": slot.start.isoformat()},
                    "end": {"dateTime": slot.end.isoformat()},
                }
        return found

    monkeypatch.setattr(worker, "FIND_SLOTS", racing)
    click(clicks, "book_them_in", message["channel"], message["ts"], lead)
    handled(clicks, rt)
    ours = [e for e in google.events() if e.get("summary") != "Dentist"]
    [event] = ours
    assert event["start"]["dateTime"] != taken[0].start.isoformat()
    assert slack.messages[0]["text"].startswith("Booked ")


def test_no_free_slot_is_told_to_the_rep_not_dead_lettered(
    rt: Runtime, clicks: Runtime, slack: SlackSandbox, google: GoogleCalendarSandbox, lead: str
) -> None:
    message = offered(rt, slack, lead)
    now = datetime.now(UTC)
    with google.lock:  # the owner is away for longer than the horizon (10 days)
        google.calendars[CAL_OWNER]["away"] = {
            "id": "away",
            "status": "confirmed",
            "summary": "Away",
            "start": {"dateTime": (now - timedelta(days=1)).isoformat()},
            "end": {"dateTime": (now + timedelta(days=30)).isoformat()},
        }
    click(clicks, "book_them_in", message["channel"], message["ts"], lead)
    handled(clicks, rt)
    assert [e["id"] for e in google.events()] == ["away"] and emails(LEAD) == []
    assert slack.messages[0]["text"] == "No free slot" and not dlq_messages(rt)


def test_not_now_updates_the_message_and_does_nothing_else(
    rt: Runtime,
    clicks: Runtime,
    slack: SlackSandbox,
    google: GoogleCalendarSandbox,
    hubspot: HubSpotSandbox,
    lead: str,
) -> None:
    message = offered(rt, slack, lead)
    click(clicks, "not_now", message["channel"], message["ts"], lead)
    handled(clicks, rt)
    assert slack.messages[0]["text"] == "Not now"
    assert google.events() == [] and meetings(hubspot) == [] and emails() == []


def test_only_this_flows_buttons_with_a_contact_are_work() -> None:
    ours = ButtonClicked(
        action_id="lead_followup.book",
        value="contact:51873001201",
        user_id="U07SAMREP1",
        channel="C0NEWLEADS1",
        message_ts="1795166100.000100",
        source_event_id=click_id("C0NEWLEADS1", "1795166100.000100", "lead_followup.book", "U07SAMREP1"),
    )
    event = BusEvent(id="bus-1", source="switchboard", detail_type=BUTTON_CLICKED, time="", detail={})
    foreign = ours.model_copy(update={"action_id": "approval.approve", "value": "approval:ap_1"})
    not_a_contact = ours.model_copy(update={"value": "email:amara@okafor-events.example"})
    for other in (foreign, not_a_contact):
        assert accept_click(other, event) == []
    [work] = accept_click(ours, event)
    assert work.event_id == "book:C0NEWLEADS1:1795166100.000100"  # the offer, whoever clicks
    assert isinstance(work.data, FollowUp)
    assert (work.data.action, work.data.contact_id) == ("book", "51873001201")
    not_now = ours.model_copy(
        update={"action_id": "lead_followup.not_now", "source_event_id": "click:C0NEWLEADS1:ts:not_now:U1"}
    )
    [dismiss] = accept_click(not_now, event)
    assert dismiss.event_id == "dismiss:C0NEWLEADS1:1795166100.000100"
    other_rep = ours.model_copy(update={"user_id": "U0ANNA0001", "source_event_id": "click:…:U0ANNA0001"})
    assert [w.event_id for w in accept_click(other_rep, event)] == [work.event_id]  # one booking per offer
