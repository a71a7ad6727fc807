"""Samples that continue others: ``after`` orders the replay, ``lookup`` fills placeholders from the
stand-ins (:mod:`infra.local.sample_links`), and a sample file that declares them wrongly is refused
naming the file and the fix."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from apps.slack.standin import SlackSandbox
from infra.local.sample_links import LookupFailed, from_sandboxes, in_replay_order, resolve
from infra.local.samples import EVENTS_DIR, Lookup, Sample, SampleError, build_request, load_sample
from sandbox.base import SandboxRequest
from shared.registry import load_spec

CLICKS = load_spec("slack_interactivity")
FOLLOWUP = load_spec("lead_followup")
OFFER = Lookup("slack", "/_button", (("action_id", "lead_followup.book"),))


def click(tmp_path: Path, **fields: Any) -> Sample:
    """A click sample of slack_interactivity written with ``fields`` over a minimal one."""
    raw = {
        "trigger": "slack",
        "form": "payload=%7B%22ts%22%3A%22{{offer.ts}}%22%7D",
        "lookup": {
            "offer": {"app": "slack", "path": "/_button", "query": {"action_id": "lead_followup.book"}}
        },
        **fields,
    }
    path = tmp_path / "slack_interactivity" / "click.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({k: v for k, v in raw.items() if v is not None}))
    return load_sample(path, CLICKS)


def named(integration: str, name: str, *after: str) -> Sample:
    return Sample(
        path=Path(f"events/{integration}/{name}.json"),
        integration=integration,
        trigger="t",
        description="",
        expect="processed",
        expect_status=202,
        after=after,
    )


# --- order -----------------------------------------------------------------------------------------


def test_a_sample_comes_right_after_the_samples_it_names_and_the_rest_keep_their_order() -> None:
    a, b = named("a", "one"), named("a", "two")
    click_ = named("c", "click", "w/lead")
    again = named("c", "click_again", "c/click")
    lead, other = named("w", "lead"), named("w", "other")
    ordered, blocked = in_replay_order([(1, s) for s in (a, b, click_, again, lead, other)])
    assert [s.qualified for _, s in ordered] == [
        "a/one",
        "a/two",
        "w/lead",
        "w/other",
        "c/click",
        "c/click_again",
    ]
    assert blocked == []


def test_a_sample_waiting_for_one_not_replayed_or_for_itself_is_blocked_with_the_reason() -> None:
    lonely = named("c", "click", "w/missing")
    first, second = named("x", "one", "x/two"), named("x", "two", "x/one")
    ordered, blocked = in_replay_order([(0, s) for s in (lonely, first, second)])
    assert ordered == []
    reasons = {s.qualified: why for _, s, why in blocked}
    assert reasons["c/click"] == "comes after w/missing, which is not among the replayed samples"
    assert reasons["x/one"] == "comes after x/two, which waits for it"


def test_every_after_in_the_samples_names_a_sample_that_exists() -> None:
    from infra.local.samples import load_samples
    from shared.registry import load_specs

    every = [s for spec in load_specs() for s in load_samples(spec)]
    ordered, blocked = in_replay_order([(0, s) for s in every])
    assert blocked == [] and len(ordered) == len(every)
    assert any(s.after for s in every)


# --- lookups ---------------------------------------------------------------------------------------


def offer(slack: SlackSandbox, channel: str, text: str, contact: str) -> str:
    res = slack.handle(
        SandboxRequest(
            method="POST",
            path="/chat.postMessage",
            headers={"authorization": "Bearer sandbox-slack-token", "content-type": "application/json"},
            body=json.dumps(
                {
                    "channel": channel,
                    "text": text,
                    "blocks": [
                        {
                            "type": "actions",
                            "elements": [
                                {
                                    "type": "button",
                                    "text": {"type": "plain_text", "text": "Book them in"},
                                    "action_id": "lead_followup.book",
                                    "value": f"contact:{contact}",
                                }
                            ],
                        }
                    ],
                }
            ).encode(),
        )
    )
    assert res.status == 200 and res.parsed()["ok"], res.body
    return str(res.parsed()["ts"])


def test_the_slack_stand_in_answers_the_newest_message_with_the_button() -> None:
    slack = SlackSandbox()
    older = offer(slack, "#sales", "Hot lead: Priya Raman scored 75", "10005")
    newer = offer(slack, "#new-leads", "Hot lead: Amara Okafor scored 70", "10003")

    def ask(**query: str) -> tuple[int, Any]:
        res = slack.handle(SandboxRequest("GET", "/_button", query={k: [v] for k, v in query.items()}))
        return res.status, res.parsed()

    assert ask(action_id="lead_followup.book") == (
        200,
        {
            "channel": "C0NEWLEADS1",
            "channel_name": "new-leads",
            "ts": newer,
            "text": "Hot lead: Amara Okafor scored 70",
            "action_id": "lead_followup.book",
            "value": "contact:10003",
        },
    )
    assert ask(action_id="lead_followup.book", text="Priya")[1]["ts"] == older
    assert ask(action_id="lead_followup.book", value="contact:10005")[1]["ts"] == older
    assert ask(action_id="lead_followup.book", channel="#sales")[1]["ts"] == older
    status, body = ask(action_id="lead_followup.not_now")
    assert status == 404 and body["error"] == "no message has a button lead_followup.not_now"
    assert ask()[0] == 400


def test_resolve_fills_the_placeholders_once_per_lookup(tmp_path: Path) -> None:
    slack = SlackSandbox()
    ts = offer(slack, "#sales", "Hot lead: Priya Raman scored 75", "10005")
    asked: list[Lookup] = []
    fetch = from_sandboxes({"slack": slack})

    def counting(lookup: Lookup) -> Any:
        asked.append(lookup)
        return fetch(lookup)

    sample = click(tmp_path, headers={"x-aimed-at": "{{offer.channel}}"})
    with pytest.raises(SampleError, match="filled from the stand-ins first"):
        build_request(CLICKS, sample, "http://gw", "secret")
    answers: dict[Lookup, Any] = {}
    done = resolve(sample, counting, answers)
    assert done.body == f"payload=%7B%22ts%22%3A%22{ts}%22%7D".encode()
    assert done.headers["x-aimed-at"] == "C0SALES0001" and done.lookups == {}
    offer(slack, "#sales", "Hot lead: someone newer", "10007")
    assert resolve(sample, counting, answers).body == done.body  # the same lookup: the same answer
    assert asked == [OFFER]
    build_request(CLICKS, done, "http://gw", "secret")  # resolved: it can be signed and sent


def test_a_lookup_that_finds_nothing_or_no_id_names_the_sample(tmp_path: Path) -> None:
    sample = click(tmp_path)
    with pytest.raises(
        LookupFailed,
        match=r"click\.json: lookup 'offer' \(slack /_button\?action_id=lead_followup\.book\): answered 404",
    ):
        resolve(sample, from_sandboxes({"slack": SlackSandbox()}), {})
    with pytest.raises(LookupFailed, match="not an id"):
        resolve(sample, lambda _: {"ts": "1.2<script>"}, {})
    with pytest.raises(LookupFailed, match="for 'ts', not an id"):
        resolve(sample, lambda _: {"channel": "C1"}, {})
    with pytest.raises(LookupFailed, match="no stand-in 'slack'"):
        resolve(sample, from_sandboxes({}), {})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"form": "payload=%7B%22ts%22%3A%22{{other.ts}}%22%7D"}, "placeholder {{other.…}} names no lookup"),
        ({"form": "payload=%7B%7D"}, "lookup 'offer' fills no placeholder"),
        ({"lookup": {"offer": {"app": "slack", "path": "button"}}}, "lookup 'offer' must be"),
        ({"lookup": {"Offer": {"app": "slack", "path": "/_button"}}}, "lookup name 'Offer'"),
        ({"lookup": []}, "lookup must be an object"),
        ({"after": "website_to_crm/tally_form_response"}, "after must be a list"),
        ({"after": ["tally_form_response"]}, "after must be a list"),
        ({"after": ["slack_interactivity/click"]}, "cannot come after itself"),
    ],
)
def test_a_sample_declaring_its_links_wrongly_is_refused_naming_the_fix(
    tmp_path: Path, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(SampleError, match=f"click.json: .*{message.replace('{', '.').replace('}', '.')}"):
        click(tmp_path, **fields)


def test_only_an_http_sample_takes_a_lookup(tmp_path: Path) -> None:
    path = tmp_path / "bus.json"
    hot = json.loads((EVENTS_DIR / "lead_followup" / "lead_scored_hot.json").read_text())
    path.write_text(json.dumps({**hot, "lookup": {"offer": {"app": "slack", "path": "/_button"}}}))
    with pytest.raises(SampleError, match="lookup fills placeholders of an HTTP request"):
        load_sample(path, FOLLOWUP)
    path.write_text(json.dumps({**hot, "after": ["website_to_crm/tally_form_response"]}))
    assert load_sample(path, FOLLOWUP).after == ("website_to_crm/tally_form_response",)


def test_a_sample_keeps_its_name_when_resolved(tmp_path: Path) -> None:
    sample = click(tmp_path)
    done = resolve(sample, lambda _: {"ts": "1795166100.000100"}, {})
    assert replace(done, body=sample.body, lookups=sample.lookups) == sample
    assert done.qualified == "slack_interactivity/click"


# --- switchboard send ------------------------------------------------------------------------------


def test_send_fills_a_click_sample_from_the_running_stand_ins(runtime: Any, cli: Any) -> None:
    import httpx

    posted = httpx.post(
        f"{runtime.url}/_sandbox/slack/chat.postMessage",
        headers={"authorization": "Bearer sandbox-slack-token"},
        json={
            "channel": "#sales",
            "text": "Hot lead: Priya Raman scored 75",
            "blocks": [
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": "Book them in"},
                            "action_id": "lead_followup.book",
                            "value": "contact:10005",
                        }
                    ],
                }
            ],
        },
        timeout=10,
    ).json()
    sample = EVENTS_DIR / "slack_interactivity" / "book_them_in.json"
    done = cli("send", "slack_interactivity", str(sample))
    assert done.returncode == 0, done.stderr
    wanted = f"click:C0SALES0001:{posted['ts']}:lead_followup.book:U07SAMREP1"
    assert done.stdout.startswith("200 ") and wanted in done.stdout, done.stdout


def test_send_to_a_stage_refuses_a_sample_filled_from_the_stand_ins() -> None:
    from infra.ops.send import send_sample
    from infra.ops.target import CliError

    sample = EVENTS_DIR / "slack_interactivity" / "book_them_in.json"
    with pytest.raises(CliError, match="filled from the local stand-ins"):
        send_sample(CLICKS, sample, url="https://hooks.example.com", stage="prod")
