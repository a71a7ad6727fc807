"""Event ids round-trip between commands: ``trace`` and ``dlq show/replay`` take the whole id or a
unique prefix (what the console's cut columns show), and say which ids an ambiguous prefix matches.

The stage paths run in-process against moto (``mock_aws``); the local path reads a runtime's JSON
log files from a log directory, as ``switchboard trace`` does on the local runtime.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import boto3
import pytest

from infra.cdk.naming import dlq_name, log_group_name
from infra.ops import dlq as dlq_ops
from infra.ops.event_ids import MIN_PREFIX, AmbiguousId, UnknownId, matching, pick
from infra.ops.target import Target, resolve
from infra.ops.trace import _prefix_pattern, trace

LONG_A = "evt_01HXYZABCDEFGHJKMNPQRSTVWXYZ0123"  # 34 characters: the console shows the first 24
LONG_B = "evt_01HXYZABCDEFGHJKMNPQRSTVWXYZ9999"


# -- the rule ------------------------------------------------------------------------------------


def _ids(pair: tuple[str, str]) -> tuple[str, str]:
    return pair


def test_an_exact_id_wins_over_longer_ids_that_start_with_it() -> None:
    items = [("abcdefgh", "m1"), ("abcdefgh-2", "m2")]
    assert matching("abcdefgh", items, _ids) == [("abcdefgh", "m1")]
    assert matching("abcdefg", items, _ids) == items
    assert matching("m2", items, _ids) == [("abcdefgh-2", "m2")], "any of an item's ids, exactly"


def test_a_prefix_shorter_than_the_minimum_matches_nothing_but_itself() -> None:
    items = [("abcdefgh", "m1")]
    assert matching("abcde"[: MIN_PREFIX - 1], items, _ids) == []
    with pytest.raises(UnknownId, match=rf"nothing here \(a prefix needs {MIN_PREFIX}\+ characters\)"):
        pick("abc", items, _ids, describe=str, nothing="nothing here")


def test_an_ambiguous_prefix_lists_the_candidates_and_says_how_to_narrow() -> None:
    items = [(f"evt_123456_{i:02}", f"m{i}") for i in range(12)]
    with pytest.raises(AmbiguousId) as caught:
        pick("evt_1234", items, _ids, describe=lambda p: p[0], nothing="-", narrow="name the message id")
    text = str(caught.value)
    assert text.startswith("'evt_1234' matches 12: evt_123456_00, evt_123456_01")
    assert "evt_123456_09 and 2 more; name the message id" in text
    assert pick("evt_123456_07", items, _ids, describe=str, nothing="-") == ("evt_123456_07", "m7")


# -- on a stage (moto) ---------------------------------------------------------------------------


@pytest.fixture
def prod(aws: boto3.session.Session) -> Target:
    return resolve("prod", "us-east-1", state_file=Path("/nonexistent/local.json"))


def _dead_letter(aws: boto3.session.Session, event_id: str) -> None:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=dlq_name("prod", "website_to_crm"))["QueueUrl"]
    sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps({"event_id": event_id, "payload": {}}),
        MessageAttributes={
            "event_id": {"DataType": "String", "StringValue": event_id},
            "reason": {"DataType": "String", "StringValue": "HubSpot answered 400"},
            "error": {"DataType": "String", "StringValue": "target_rejected"},
        },
    )


def _log(aws: boto3.session.Session, integration: str, lines: list[dict[str, object]]) -> None:
    logs = aws.client("logs")
    group = log_group_name("prod", integration)
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[{"timestamp": now + i, "message": json.dumps(line)} for i, line in enumerate(lines)],
    )


def _table(aws: boto3.session.Session) -> None:
    aws.client("dynamodb").create_table(
        TableName="switchboard-prod-ledger",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def test_trace_on_a_stage_completes_a_prefix_cut_like_the_console(
    prod: Target, aws: boto3.session.Session
) -> None:
    _table(aws)
    _dead_letter(aws, LONG_A)
    _log(
        aws,
        "website_to_crm",
        [
            {"level": "INFO", "message": "accepted", "trigger": "form", "event_ids": [LONG_A]},
            {"level": "ERROR", "message": "sent to DLQ", "event_id": LONG_A},
        ],
    )
    out = io.StringIO()
    assert trace(prod, LONG_A[:24], out)
    text = out.getvalue()
    assert f"{LONG_A[:24]} is the start of {LONG_A}" in text
    assert f"trace {LONG_A}  (stage prod (us-east-1))" in text
    assert "website_to_crm: DEAD-LETTERED (target_rejected)" in text
    assert f"switchboard dlq replay {LONG_A}" in text

    # The same cut id names the dead letter for dlq show.
    shown = io.StringIO()
    dlq_ops.show(prod, LONG_A[:24], None, shown)
    assert f"event id           {LONG_A}" in shown.getvalue()


def test_trace_on_a_stage_lists_the_ids_an_ambiguous_prefix_matches(
    prod: Target, aws: boto3.session.Session
) -> None:
    _table(aws)
    _log(aws, "website_to_crm", [{"level": "INFO", "message": "processed", "event_id": LONG_A}])
    _log(aws, "new_lead_notify", [{"level": "INFO", "message": "processed", "event_id": LONG_B}])
    with pytest.raises(AmbiguousId) as caught:
        trace(prod, LONG_A[:24], io.StringIO())
    assert str(caught.value) == (
        f"{LONG_A[:24]!r} matches 2: {LONG_A} (website_to_crm), {LONG_B} (new_lead_notify); "
        "give more of the id"
    )
    out = io.StringIO()
    assert trace(prod, LONG_B[:-2], out), "a longer prefix is unique"
    assert "new_lead_notify: seen in the logs only" in out.getvalue()


def test_trace_says_when_a_prefix_matches_nothing(prod: Target, aws: boto3.session.Session) -> None:
    _table(aws)
    _log(aws, "website_to_crm", [{"level": "INFO", "message": "processed", "event_id": LONG_A}])
    out = io.StringIO()
    assert not trace(prod, "evt_02", out)
    assert "no event id in the logs or a DLQ starts with it" in out.getvalue()


def test_dlq_show_lists_dead_letters_an_ambiguous_prefix_matches(
    prod: Target, aws: boto3.session.Session
) -> None:
    _dead_letter(aws, LONG_A)
    _dead_letter(aws, LONG_B)
    with pytest.raises(AmbiguousId, match=r"'evt_01HXYZAB' matches 2: .*\(website_to_crm, event evt_01H"):
        dlq_ops.show(prod, "evt_01HXYZAB", None, io.StringIO())
    with pytest.raises(UnknownId, match=r"^no dead letter 'evt_01HXYZAC' in any DLQ of stage prod"):
        dlq_ops.show(prod, "evt_01HXYZAC", None, io.StringIO())


def test_the_stage_prefix_query_is_a_json_wildcard_pattern_and_quotes_odd_prefixes() -> None:
    pattern = _prefix_pattern("evt_01HX")
    assert pattern.startswith("{ ") and pattern.endswith(" }")
    assert '($.event_id = "evt_01HX*")' in pattern and '($.event_ids[0] = "evt_01HX*")' in pattern
    assert _prefix_pattern('a"b*cdef') == json.dumps('a"b*cdef')


# -- on the local runtime (its JSON log files) ----------------------------------------------------


def test_trace_on_the_local_runtime_completes_a_prefix_from_the_log_files(
    aws: boto3.session.Session, tmp_path: Path
) -> None:
    _table(aws)
    logs = tmp_path / "logs"
    logs.mkdir()
    lines = [
        {"level": "INFO", "message": "accepted", "trigger": "form", "event_ids": [LONG_A]},
        {"level": "INFO", "message": "processed", "event_id": LONG_A, "steps": ["upsert_contact"]},
    ]
    (logs / "website_to_crm.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    local = Target(stage="prod", region="us-east-1", endpoint="moto", log_dir=logs)
    # moto's in-process mock answers whatever endpoint the client names.
    local._clients["dynamodb"] = aws.client("dynamodb")
    local._clients["sqs"] = aws.client("sqs")
    out = io.StringIO()
    assert trace(local, LONG_A[:24], out)
    assert f"trace {LONG_A}  (the local runtime)" in out.getvalue()
    assert "website_to_crm: queued, not processed yet" in out.getvalue()
