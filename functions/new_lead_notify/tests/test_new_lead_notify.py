"""new_lead_notify with its real sample events, through the production handler (moto SES + sandboxes).

Bus samples are put on the Switchboard bus (moto's EventBridge routes them into the queue through
the rule the spec declares); webhook samples are signed and sent as HubSpot would. The queue is then
drained by the same poller the local runtime uses, and what was announced is read back: emails from
moto's SES backend, Slack messages from the Slack sandbox, dead letters from the DLQ.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from apps.hubspot.standin import HubSpotSandbox
from apps.slack.standin import SlackSandbox
from infra.local.samples import EVENTS_DIR, Sample, load_sample, load_samples
from sandbox.base import SandboxApp, SandboxRequest, transport_for
from shared.registry import load_spec
from shared.runtime import Runtime
from tests.support import ShortReads, dlq_messages, drain, send_sample

SPEC = load_spec("new_lead_notify")
HOST = "hooks.example.test"
REGION = "us-east-1"
SAMPLES = load_samples(SPEC)
SALES = "sales@bramble-bakery.example"
FOLDER = EVENTS_DIR / "new_lead_notify"
#: In ``make dev`` the samples run in file order: HubSpot's webhook for the new contact arrives after
#: website_to_crm's ``lead.created`` for it, and is the duplicate the sample describes.
PRECEDED_BY = {"lead_created_new_contact_hubspot_webhook": "lead_created_new_contact"}


# --- delivering -------------------------------------------------------------------------------------


def sample(name: str) -> Sample:
    return load_sample(FOLDER / f"{name}.json", SPEC)


def deliver(rt: Runtime, s: Sample) -> dict[str, Any]:
    """Deliver a sample as its source would; the answer (HTTP samples) or the accepted ids (bus)."""
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


def webhook(rt: Runtime, events: list[dict[str, Any]]) -> dict[str, Any]:
    """A signed HubSpot webhook request carrying ``events``."""
    template = sample("lead_created_new_contact_hubspot_webhook")
    return deliver(rt, replace(template, body=json.dumps(events).encode()))


def bus(rt: Runtime, name: str, **changes: Any) -> None:
    """Put a bus sample on the bus, with ``detail`` fields changed (``lead=...`` replaces the lead)."""
    s = sample(name)
    deliver(rt, replace(s, detail={**s.detail, **changes}))


def creation(contact_id: int | str, *, portal: int = 24681357, event_id: int = 1837290001) -> dict[str, Any]:
    return {
        "eventId": event_id,
        "subscriptionId": 2981734,
        "portalId": portal,
        "appId": 4127781,
        "occurredAt": 1795166044318,
        "subscriptionType": "contact.creation",
        "attemptNumber": 0,
        "objectId": int(contact_id),
        "changeFlag": "CREATED",
        "changeSource": "CRM_UI",
        "sourceId": "userId:9876543",
    }


def emails(to: str | None = None) -> list[Any]:
    """Messages moto's SES accepted (``Message``: source, destinations, subject, body = the HTML)."""
    sent = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    return [m for m in sent if to is None or to in m.destinations.get("ToAddresses", [])]


def slack_messages(app: SlackSandbox) -> list[dict[str, Any]]:
    return list(app.state()["messages"])


def control(app: SandboxApp, method: str, path: str, body: Any = None) -> Any:
    raw = b"" if body is None else json.dumps(body).encode()
    res = app.handle(SandboxRequest(method=method, path=path, body=raw))
    assert res.status < 300, res.body
    return res.parsed()


def slack_calls(app: SlackSandbox, method: str | None = None) -> list[dict[str, Any]]:
    """Requests the Slack sandbox received, oldest first; only those of one Web API ``method`` if given."""
    calls = list(control(app, "GET", "/_requests", None)["requests"])
    return [c for c in calls if method is None or c["path"].split("?")[0] == f"/{method}"]


def queued(rt: Runtime) -> int:
    attrs = rt.aws("sqs").get_queue_attributes(QueueUrl=rt.queue_url, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def create_contact(hubspot: HubSpotSandbox, email: str, **properties: str) -> str:
    """A contact in the HubSpot sandbox, as a person or an import would create it; its id."""
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


@pytest.fixture
def rt(make_runtime: Any) -> Runtime:
    return make_runtime("new_lead_notify", retry_scale=0)


@pytest.fixture
def slack(sandboxes: dict[str, SandboxApp]) -> SlackSandbox:
    app = sandboxes["slack"]
    assert isinstance(app, SlackSandbox)
    return app


@pytest.fixture(autouse=True)
def _no_email_yet(aws: Any) -> None:
    assert emails() == []  # moto's SES starts empty in every test


# --- every sample -----------------------------------------------------------------------------------


def test_there_are_samples_of_every_outcome() -> None:
    assert {s.expect for s in SAMPLES} == {"processed", "dlq", "rejected"}
    assert {s.trigger for s in SAMPLES} == {t.name for t in SPEC.triggers}


@pytest.mark.parametrize("s", SAMPLES, ids=[s.name for s in SAMPLES])
def test_every_sample_event_ends_as_it_says(
    s: Sample, rt: Runtime, slack: SlackSandbox, sandboxes: dict[str, SandboxApp]
) -> None:
    if s.name in PRECEDED_BY:
        deliver(rt, sample(PRECEDED_BY[s.name]))
        drain(rt)
    before_emails, before_posts = len(emails(SALES)), len(slack_messages(slack))
    for app, faults in s.faults.items():
        for fault in faults:
            control(sandboxes[app], "POST", "/_faults", fault)
    result = deliver(rt, s)
    assert result["statusCode"] == (s.expect_status or 202), result["body"]
    drain(rt)
    dlq = dlq_messages(rt)
    new_emails = len(emails(SALES)) - before_emails
    new_posts = len(slack_messages(slack)) - before_posts
    if s.expect == "processed":
        assert not dlq
        if s.name in PRECEDED_BY:  # the duplicate: nothing announced a second time
            assert (new_emails, new_posts) == (0, 0)
        else:
            assert (new_emails, new_posts) == (1, 1)
    elif s.expect == "dlq":
        [dead] = dlq
        attrs = dead["MessageAttributes"]
        assert attrs["error"]["StringValue"] == "target_rejected"
        assert "channel_not_found" in attrs["reason"]["StringValue"]
        assert attrs["attempts"]["StringValue"] == "1"  # permanent: not retried
        assert attrs["event_id"]["StringValue"] == "contact:24681357:51873001402"
        assert (new_emails, new_posts) == (1, 0)  # the sales email went out; its step is kept
    else:
        assert json.loads(result["body"])["error"] == "invalid_signature"
        assert queued(rt) == 0 and not dlq and (new_emails, new_posts) == (0, 0)


# --- announced once -----------------------------------------------------------------------------------


def test_a_new_contact_from_the_bus_then_hubspot_is_announced_once(
    rt: Runtime, slack: SlackSandbox, hubspot: HubSpotSandbox
) -> None:
    deliver(rt, sample("lead_created_new_contact"))
    deliver(rt, sample("lead_created_new_contact_hubspot_webhook"))
    drain(rt)
    [sales] = emails(SALES)
    assert sales.subject == "New lead: Amara Okafor (Okafor Events)"
    [post] = slack_messages(slack)
    assert post["channel"] == "C0NEWLEADS1" and "Amara Okafor" in post["text"]
    assert len(emails("amara@okafor-events.example")) == 1  # the thank-you
    # HubSpot was never asked: the webhook's announcement was a duplicate before any step ran.
    assert control(hubspot, "GET", "/_requests")["requests"] == []


def test_a_new_contact_from_hubspot_then_the_bus_is_announced_once_and_still_thanked(
    rt: Runtime, slack: SlackSandbox, hubspot: HubSpotSandbox
) -> None:
    contact_id = create_contact(
        hubspot, "amara@okafor-events.example", firstname="Amara", lastname="Okafor", company="Okafor Events"
    )
    assert webhook(rt, [creation(contact_id)])["statusCode"] == 202
    drain(rt)  # HubSpot's webhook won the race and announced the contact
    crm_url = f"https://app.hubspot.com/contacts/24681357/record/0-1/{contact_id}"
    bus(rt, "lead_created_new_contact", contact_id=contact_id, crm_url=crm_url)
    drain(rt)
    assert len(emails(SALES)) == 1
    assert len(slack_messages(slack)) == 1
    # The thank-you is per enquiry, not per contact: the website lead is still thanked, once.
    [thanks] = emails("amara@okafor-events.example")
    assert thanks.subject == "Thanks for getting in touch with Bramble Bakery"


def test_a_repeat_enquiry_from_an_existing_contact_is_announced_each_time(
    rt: Runtime, slack: SlackSandbox
) -> None:
    bus(rt, "lead_created_existing_contact")
    bus(rt, "lead_created_existing_contact")  # EventBridge delivered it twice: one enquiry
    bus(rt, "lead_created_existing_contact", source_event_id="7f1c2b3a-0d9e-4c8b-a7f6-e5d4c3b2a190")
    drain(rt)
    subjects = [m.subject for m in emails(SALES)]
    assert subjects == ["New enquiry: Lena Fischer (Fischer Kaffee)"] * 2
    assert len(slack_messages(slack)) == 2


def test_a_hubspot_batch_is_several_work_items_and_other_events_are_ignored(
    rt: Runtime, slack: SlackSandbox, hubspot: HubSpotSandbox
) -> None:
    first = create_contact(hubspot, "a@one.example", firstname="Ann")
    second = create_contact(hubspot, "b@two.example", firstname="Ben", company="Two Ltd")
    change = {**creation(first, event_id=11), "subscriptionType": "contact.propertyChange"}
    change |= {"propertyName": "firstname", "propertyValue": "Anna"}
    answer = webhook(
        rt, [creation(first, event_id=1), change, creation(second, event_id=2), creation(first, event_id=1)]
    )
    assert answer["statusCode"] == 202
    assert json.loads(answer["body"])["ids"] == [f"contact:24681357:{first}", f"contact:24681357:{second}"]
    drain(rt)
    assert sorted(m.subject for m in emails(SALES)) == ["New lead: Ann", "New lead: Ben (Two Ltd)"]
    assert len(slack_messages(slack)) == 2
    assert emails("a@one.example") == []  # contacts added in HubSpot are not thanked for writing


def test_a_batch_without_contact_creations_queues_nothing(rt: Runtime) -> None:
    change = {**creation(1), "subscriptionType": "contact.deletion"}
    answer = webhook(rt, [change])
    assert answer["statusCode"] == 202 and json.loads(answer["body"])["ids"] == []
    assert queued(rt) == 0


def test_a_hubspot_webhook_announces_the_contact_as_hubspot_has_it(
    rt: Runtime, slack: SlackSandbox, hubspot: HubSpotSandbox
) -> None:
    contact_id = create_contact(
        hubspot, "priya@northwind.example", firstname="Priya", lastname="Raman", phone="+442079460321"
    )
    webhook(rt, [creation(contact_id)])
    drain(rt)
    [sales] = emails(SALES)
    assert sales.subject == "New lead: Priya Raman"
    assert "+442079460321" in sales.body and "added in HubSpot" in sales.body
    assert f"https://app.hubspot.com/contacts/24681357/record/0-1/{contact_id}" in sales.body
    [post] = slack_messages(slack)
    assert f"<https://app.hubspot.com/contacts/24681357/record/0-1/{contact_id}|" in json.dumps(
        post["blocks"]
    )
    reads = [r for r in control(hubspot, "GET", "/_requests")["requests"] if r["method"] == "GET"]
    assert [r["path"] for r in reads] == [f"/crm/v3/objects/contacts/{contact_id}"]


def test_a_contact_hubspot_no_longer_has_goes_to_the_dlq(rt: Runtime, slack: SlackSandbox) -> None:
    webhook(rt, [creation(51873099999)])
    drain(rt)
    [dead] = dlq_messages(rt)
    reason = dead["MessageAttributes"]["reason"]["StringValue"]
    assert "404" in reason and "OBJECT_NOT_FOUND" in reason
    assert emails() == [] and slack_messages(slack) == []


# --- steps and retries ------------------------------------------------------------------------------


def test_when_slack_fails_after_the_email_the_retry_posts_to_slack_only(
    rt: Runtime, slack: SlackSandbox
) -> None:
    control(
        slack, "POST", "/_faults", {"kind": "status", "status": 503, "count": 2, "path": "/chat.postMessage"}
    )
    bus(rt, "lead_created_new_contact")
    drain(rt)
    assert [r["status"] for r in slack_calls(slack, "chat.postMessage")] == [503, 503, 200]
    # The retries first looked for a post of an earlier attempt (there was none: Slack answered 503);
    # the first attempt had no earlier one to look for.
    assert len(slack_calls(slack, "conversations.history")) == 2
    assert len(emails(SALES)) == 1  # sent on the first attempt, skipped on the two retries
    assert len(slack_messages(slack)) == 1


def test_slack_rate_limit_honours_retry_after(
    make_runtime: Any, slack: SlackSandbox, monkeypatch: Any
) -> None:
    from shared import worker

    rt = make_runtime("new_lead_notify", retry_scale=0.01)  # hints are scaled as the delays are

    delays: list[tuple[int, float | None]] = []
    real = worker.wait_delay

    def spy(policy: Any, waits: int, hint: float | None = None, **kw: Any) -> int:
        delays.append((waits, hint))
        return real(policy, waits, hint, **kw)

    # A 429 is a wait, not an attempt: its delay comes from wait_delay with Slack's Retry-After.
    monkeypatch.setattr(worker, "wait_delay", spy)
    control(slack, "POST", "/_faults", {"kind": "rate_limit", "retry_after": 7, "path": "/chat.postMessage"})
    bus(rt, "lead_created_new_contact")
    drain(rt)
    assert delays == [(1, pytest.approx(7.0 * 0.01))]
    assert len(slack_messages(slack)) == 1


def test_a_post_whose_answer_was_lost_is_not_posted_again(
    make_runtime: Any, sandboxes: dict[str, SandboxApp], slack: SlackSandbox
) -> None:
    rt = make_runtime(
        "new_lead_notify", retry_scale=0, http_transport=ShortReads(transport_for(sandboxes), 0.2)
    )
    # Slack stores the message at once and answers after the client gave up: a TargetTimeout.
    late = {"kind": "slow", "delay_s": 0.5, "serve_first": True, "path": "/chat.postMessage"}
    control(slack, "POST", "/_faults", late)
    bus(rt, "lead_created_new_contact")
    drain(rt)
    [post] = slack_messages(slack)
    assert post["metadata"]["event_type"] == "switchboard_effect"
    assert post["metadata"]["event_payload"]["ref"].endswith("/slack.post")
    # The retry found the first attempt's post in the history and did not post again; the first
    # attempt, with no earlier one, posted without looking.
    assert len(slack_calls(slack, "chat.postMessage")) == 1
    [retry] = slack_calls(slack, "conversations.history")
    assert retry["query"]["channel"] == ["C0NEWLEADS1"]
    assert retry["query"]["include_all_metadata"] == ["true"]
    assert len(emails(SALES)) == 1 and not dlq_messages(rt)


def test_a_first_post_does_not_look_and_a_retry_does(rt: Runtime, slack: SlackSandbox) -> None:
    bus(rt, "lead_created_new_contact")
    drain(rt)
    # Posted by name (#new-leads): Slack's answer gives the channel id; nothing read before.
    assert [c["path"] for c in slack_calls(slack)] == ["/chat.postMessage"]
    [post] = slack_messages(slack)
    assert set(post["metadata"]) == {"event_type", "event_payload"}


def test_without_the_history_scope_a_retry_goes_to_the_dlq_naming_it(
    make_runtime: Any, slack: SlackSandbox
) -> None:
    slack.scopes = frozenset({"chat:write", "channels:read", "groups:read"})
    rt = make_runtime("new_lead_notify", retry_scale=0)
    control(
        slack, "POST", "/_faults", {"kind": "status", "status": 503, "count": 1, "path": "/chat.postMessage"}
    )
    bus(rt, "lead_created_new_contact")
    drain(rt)
    [dead] = dlq_messages(rt)
    reason = dead["MessageAttributes"]["reason"]["StringValue"]
    assert reason.startswith("slack GET /conversations.history: missing_scope (needed channels:history")
    # Never posted blind after an earlier attempt: a missing scope is not "not found".
    assert slack_messages(slack) == []


@pytest.mark.parametrize("code", ["internal_error", "service_unavailable", "ratelimited"])
def test_a_transient_slack_ok_false_is_retried_not_taken_for_success(
    rt: Runtime, slack: SlackSandbox, code: str
) -> None:
    fault = {
        "kind": "status",
        "status": 400,
        "path": "/chat.postMessage",
        "body": {"ok": False, "error": code},
    }
    control(slack, "POST", "/_faults", fault)
    bus(rt, "lead_created_new_contact")
    drain(rt)
    # HTTP 200 both times, as Slack does
    assert [r["status"] for r in slack_calls(slack, "chat.postMessage")] == [200, 200]
    assert len(slack_messages(slack)) == 1 and not dlq_messages(rt)


@pytest.mark.parametrize("code", ["channel_not_found", "not_in_channel", "invalid_auth", "is_archived"])
def test_a_permanent_slack_ok_false_goes_to_the_dlq(rt: Runtime, slack: SlackSandbox, code: str) -> None:
    fault = {
        "kind": "status",
        "status": 400,
        "path": "/chat.postMessage",
        "body": {"ok": False, "error": code},
    }
    control(slack, "POST", "/_faults", fault)
    bus(rt, "lead_created_new_contact")
    drain(rt)
    [dead] = dlq_messages(rt)
    assert dead["MessageAttributes"]["reason"]["StringValue"].endswith(code)
    assert slack_messages(slack) == []


@pytest.mark.parametrize(
    ("channel", "reason"),
    [
        # Not a member: the post is refused.
        ("#random", "slack POST /chat.postMessage: not_in_channel"),
        # Private without the app: invisible, so Slack knows no such channel.
        ("#sales-ops", "slack POST /chat.postMessage: channel_not_found"),
        ("#old-leads", "slack POST /chat.postMessage: is_archived"),
    ],
)
def test_a_channel_the_app_cannot_post_to_is_a_permanent_error(
    make_runtime: Any, slack: SlackSandbox, channel: str, reason: str
) -> None:
    settings = json.loads((load_spec_dir() / "settings.local.json").read_text())
    rt = make_runtime(
        "new_lead_notify", retry_scale=0, settings_json=json.dumps({**settings, "slack_channel": channel})
    )
    bus(rt, "lead_created_new_contact")
    drain(rt)
    [dead] = dlq_messages(rt)
    assert dead["MessageAttributes"]["reason"]["StringValue"] == reason
    assert slack_messages(slack) == []


def load_spec_dir() -> Any:
    from shared.registry import FUNCTIONS_DIR

    return FUNCTIONS_DIR / "new_lead_notify"


def test_no_thank_you_when_acknowledgements_are_off(make_runtime: Any, slack: SlackSandbox) -> None:
    settings = json.loads((load_spec_dir() / "settings.local.json").read_text())
    rt = make_runtime(
        "new_lead_notify", retry_scale=0, settings_json=json.dumps({**settings, "acknowledge_lead": False})
    )
    bus(rt, "lead_created_new_contact")
    drain(rt)
    assert len(emails(SALES)) == 1
    assert emails("amara@okafor-events.example") == []


def test_a_lead_without_an_email_is_announced_but_not_thanked(rt: Runtime, slack: SlackSandbox) -> None:
    lead = {**sample("lead_created_new_contact").detail["lead"], "email": None}
    bus(rt, "lead_created_new_contact", lead=lead)
    drain(rt)
    [sales] = emails()
    assert sales.destinations["ToAddresses"] == [SALES]
    assert len(slack_messages(slack)) == 1


# --- what the announcement says ---------------------------------------------------------------------


def test_a_hostile_name_is_text_in_the_email_and_in_slack(rt: Runtime, slack: SlackSandbox) -> None:
    lead = {
        **sample("lead_created_new_contact").detail["lead"],
        "first_name": "<script>alert(1)</script>",
        "last_name": "<!channel>",
        "company": "Tom & Jerry <b>Ltd</b>",
        "message": '"><img src=x onerror=alert(2)>',
    }
    bus(rt, "lead_created_new_contact", lead=lead)
    drain(rt)
    [sales] = emails(SALES)
    html = sales.body  # moto keeps the HTML part of a Simple message
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    assert "Tom &amp; Jerry &lt;b&gt;Ltd&lt;/b&gt;" in html
    [post] = slack_messages(slack)
    parsed = [post["text"], *mrkdwn_texts(post["blocks"])]  # what Slack reads links and mentions in
    assert not [t for t in parsed if "<!channel>" in t or "<script>" in t or "<b>" in t]
    assert "&lt;!channel&gt;" in post["text"]
    header = post["blocks"][0]["text"]  # plain_text: shown as typed, never parsed
    assert header == {
        "type": "plain_text",
        "text": "New lead: <script>alert(1)</script> <!channel>",
        "emoji": True,
    }


def mrkdwn_texts(value: Any) -> list[str]:
    if isinstance(value, dict):
        own = [value["text"]] if value.get("type") == "mrkdwn" else []
        return own + [t for v in value.values() for t in mrkdwn_texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in mrkdwn_texts(v)]
    return []


def test_the_sales_email_can_be_answered_by_replying(rt: Runtime, aws: Any) -> None:
    captured: list[dict[str, Any]] = []
    client = rt.aws("sesv2")
    client.meta.events.register(
        "provide-client-params.sesv2.SendEmail", lambda params, **_: captured.append(params)
    )
    bus(rt, "lead_created_new_contact")
    drain(rt)
    sales, thanks = captured
    assert sales["FromEmailAddress"] == "Bramble Bakery <hello@bramble-bakery.example>"
    assert sales["Destination"] == {"ToAddresses": [SALES]}
    assert sales["ReplyToAddresses"] == ["amara@okafor-events.example"]
    body = sales["Content"]["Simple"]["Body"]
    assert "Catering quote for a 120-guest wedding in June?" in body["Text"]["Data"]
    assert "Reply to this email to answer Amara Okafor directly." in body["Text"]["Data"]
    assert thanks["Destination"] == {"ToAddresses": ["amara@okafor-events.example"]}
    assert thanks["ReplyToAddresses"] == [SALES]


def test_the_slack_message_names_the_lead_and_links_the_crm_record(rt: Runtime, slack: SlackSandbox) -> None:
    bus(rt, "lead_created_new_contact")
    drain(rt)
    [post] = slack_messages(slack)
    assert post["text"] == "New lead: Amara Okafor (Okafor Events), via website contact form"
    blocks = post["blocks"]
    assert [b["type"] for b in blocks] == ["header", "section", "section", "section", "context"]
    fields = [f["text"] for f in blocks[1]["fields"]]
    assert fields == [
        "*Name*\nAmara Okafor",
        "*Company*\nOkafor Events",
        "*Email*\namara@okafor-events.example",
        "*Phone*\n+447700900123",
        "*Source*\nwebsite contact form",
    ]
    assert blocks[2]["text"]["text"].startswith("> Catering quote")
    link = "https://app.hubspot.com/contacts/24681357/record/0-1/51873001201"
    assert blocks[3]["text"]["text"] == f"<{link}|Open the contact in HubSpot>"


# --- the keys ---------------------------------------------------------------------------------------


def accepted_ids(detail: dict[str, Any]) -> list[str]:
    from functions.new_lead_notify.models import LeadCreated
    from functions.new_lead_notify.spec import accept_lead_created
    from shared.spec import BusEvent

    event = BusEvent(id="e1", source="switchboard", detail_type="lead.created", time="", detail=detail)
    return [a.event_id for a in accept_lead_created(LeadCreated.model_validate(detail), event)]


def test_the_keys_of_a_lead_created_event() -> None:
    detail = sample("lead_created_new_contact").detail
    assert accepted_ids(detail) == [
        "contact:24681357:51873001201",
        "ack:sha256-5f0c1e2d3b4a69788796a5b4c3d2e1f0a9b8c7d6",
    ]
    existing = sample("lead_created_existing_contact").detail
    assert accepted_ids(existing) == [
        "lead:3d9a6c1e-7b2f-4e8a-9c6b-2a1b0c9d8e7f",
        "ack:3d9a6c1e-7b2f-4e8a-9c6b-2a1b0c9d8e7f",
    ]


def test_the_portal_comes_from_the_crm_url_eu_hosts_included() -> None:
    detail = sample("lead_created_new_contact").detail
    eu = {**detail, "crm_url": "https://app-eu1.hubspot.com/contacts/139876543/record/0-1/51873001201"}
    assert accepted_ids(eu)[0] == "contact:139876543:51873001201"
    assert accepted_ids({**detail, "crm_url": None})[0] == "contact:hubspot:51873001201"
    assert (
        accepted_ids({**detail, "crm_url": "https://evil.example/contacts/1/"})[0]
        == "contact:hubspot:51873001201"
    )


def test_a_very_long_producer_id_is_hashed_into_the_envelopes_limit() -> None:
    detail = {**sample("lead_created_existing_contact").detail, "source_event_id": "x" * 256}
    announce, ack = accepted_ids(detail)
    assert announce.startswith("lead:sha256-") and ack.startswith("ack:sha256-")
    assert len(announce) <= 256 and len(ack) <= 256


def test_a_lead_created_that_does_not_match_goes_to_the_dlq_at_once(rt: Runtime, slack: SlackSandbox) -> None:
    bus(rt, "lead_created_new_contact", contact_id="")
    drain(rt)
    [dead] = dlq_messages(rt)
    assert dead["MessageAttributes"]["error"]["StringValue"] == "invalid_event"
    assert dead["MessageAttributes"]["attempts"]["StringValue"] == "1"
    assert emails() == [] and slack_messages(slack) == []
