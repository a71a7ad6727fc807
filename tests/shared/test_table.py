"""shared.table against moto: the attribute maps it writes, and its one way of telling a failed condition."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from shared.table import (
    MAX_BATCH_GET,
    ConditionFailed,
    Table,
    from_item,
    is_condition_failure,
    to_item,
)

NAME = "switchboard-test-ledger"


@pytest.fixture
def ddb(aws: boto3.session.Session) -> Any:
    client = aws.client("dynamodb")
    client.create_table(
        TableName=NAME,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


@pytest.fixture
def table(ddb: Any) -> Table:
    return Table(ddb, NAME)


def raw(ddb: Any, key: str) -> dict[str, Any]:
    item: dict[str, Any] = ddb.get_item(TableName=NAME, Key={"id": {"S": key}})["Item"]
    return item


def test_items_are_stored_in_the_shapes_the_hand_built_maps_had(table: Table, ddb: Any) -> None:
    table.put(
        {
            "id": "k#1",
            "status": "COMPLETED",
            "expiration": 2_000_000_000,
            "lease_until": 1_700_000_000.125,
            "first_at": Decimal("1700000000.100"),
            "tools": {"stock.get", "crm.upsert_contact"},
            "locations": ["L1", "L2"],
            "variation_id": "",
        }
    )
    stored = raw(ddb, "k#1")
    assert stored["id"] == {"S": "k#1"} and stored["status"] == {"S": "COMPLETED"}
    assert stored["expiration"] == {"N": "2000000000"}
    assert stored["lease_until"] == {"N": "1700000000.125"}  # a float as its repr shows
    assert stored["first_at"] == {"N": "1700000000.100"}
    assert sorted(stored["tools"]["SS"]) == ["crm.upsert_contact", "stock.get"]
    assert stored["locations"] == {"L": [{"S": "L1"}, {"S": "L2"}]}
    assert stored["variation_id"] == {"S": ""}

    item = table.get("k#1", consistent=True)
    assert item is not None
    assert item["expiration"] == 2_000_000_000 and isinstance(item["expiration"], Decimal)
    assert item["tools"] == {"stock.get", "crm.upsert_contact"} and item["locations"] == ["L1", "L2"]
    assert table.get("k#none") is None


def test_the_codec_round_trips_nested_values() -> None:
    values = {"n": 3, "f": 0.5, "m": {"a": [1, "x", True, None]}}
    assert to_item(values) == {
        "n": {"N": "3"},
        "f": {"N": "0.5"},
        "m": {"M": {"a": {"L": [{"N": "1"}, {"S": "x"}, {"BOOL": True}, {"NULL": True}]}}},
    }
    assert from_item(to_item(values)) == {"n": 3, "f": Decimal("0.5"), "m": {"a": [1, "x", True, None]}}


def test_put_if_absent_writes_once(table: Table) -> None:
    assert table.put_if_absent({"id": "k", "v": 1}) is True
    assert table.put_if_absent({"id": "k", "v": 2}) is False
    assert table.get("k") == {"id": "k", "v": 1}


def test_a_conditional_put_that_does_not_hold_raises_condition_failed(table: Table) -> None:
    table.put({"id": "lease", "owner": "a", "lease_until": 200})
    with pytest.raises(ConditionFailed):
        table.put(
            {"id": "lease", "owner": "b", "lease_until": 300},
            condition="attribute_not_exists(id) OR lease_until < :now",
            values={":now": 100},
        )
    table.put(
        {"id": "lease", "owner": "b", "lease_until": 300},
        condition="attribute_not_exists(id) OR lease_until < :now",
        values={":now": 250},
    )
    assert table.get("lease") == {"id": "lease", "owner": "b", "lease_until": 300}


def test_update_returns_what_was_asked_and_honours_its_condition(table: Table) -> None:
    counter = "c#minute#0"
    update = "ADD calls :one SET expiration = :exp"
    limit = "attribute_not_exists(calls) OR calls < :limit"
    for _ in range(2):
        table.update(counter, update, values={":one": 1, ":exp": 60, ":limit": 2}, condition=limit)
    with pytest.raises(ConditionFailed):
        table.update(counter, update, values={":one": 1, ":exp": 60, ":limit": 2}, condition=limit)
    assert table.get(counter) == {"id": counter, "calls": 2, "expiration": 60}

    new = table.update("n", "ADD #v :one", names={"#v": "value"}, values={":one": 1}, returns="UPDATED_NEW")
    assert new["value"] == 1
    old = table.update("n", "SET #v = :v", names={"#v": "value"}, values={":v": 5}, returns="ALL_OLD")
    assert old == {"id": "n", "value": 1}
    assert table.update("n", "SET #v = :v", names={"#v": "value"}, values={":v": 6}) == {}


def test_a_conditional_delete_leaves_someone_elses_item(table: Table) -> None:
    table.put({"id": "lease", "owner": "a"})
    owner = {"#o": "owner"}
    with pytest.raises(ConditionFailed):
        table.delete("lease", condition="#o = :me", names=owner, values={":me": "b"})
    assert table.get("lease") is not None
    table.delete("lease", condition="#o = :me", names=owner, values={":me": "a"})
    assert table.get("lease") is None
    table.delete("lease")  # nothing there: no error


def test_other_errors_are_botocores_own(ddb: Any) -> None:
    with pytest.raises(ClientError) as raised:
        Table(ddb, "no-such-table").put({"id": "k"})
    assert not is_condition_failure(raised.value)
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_condition_failures_are_told_apart_whichever_way_botocore_raises_them(ddb: Any) -> None:
    ddb.put_item(TableName=NAME, Item={"id": {"S": "k"}})
    with pytest.raises(ClientError) as raised:
        ddb.put_item(TableName=NAME, Item={"id": {"S": "k"}}, ConditionExpression="attribute_not_exists(id)")
    assert isinstance(raised.value, ddb.exceptions.ConditionalCheckFailedException)
    assert is_condition_failure(raised.value)
    generic = ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "UpdateItem")
    assert is_condition_failure(generic)
    assert not is_condition_failure(ValueError("ConditionalCheckFailedException"))


def test_scan_filters_and_follows_pages(table: Table) -> None:
    for i in range(30):
        table.put({"id": f"apikey#{i:02}", "kind": "apikey" if i % 3 else "audit", "pad": "x" * 40_000})
    found = list(table.scan(where="#k = :kind", names={"#k": "kind"}, values={":kind": "apikey"}))
    assert sorted(i["id"] for i in found) == [f"apikey#{i:02}" for i in range(30) if i % 3]


def test_batches_read_and_write_at_dynamodbs_sizes(table: Table) -> None:
    assert table.put_batch([{"id": f"s#{i}", "available": i} for i in range(25)]) == 0
    read = table.get_batch([f"s#{i}" for i in range(30)], consistent=True)
    assert sorted(int(i["available"]) for i in read.items) == list(range(25))
    assert read.unprocessed == []
    with pytest.raises(ValueError, match="at most 100 keys"):
        table.get_batch([str(i) for i in range(MAX_BATCH_GET + 1)])
    with pytest.raises(ValueError, match="at most 25 items"):
        table.put_batch([{"id": str(i)} for i in range(26)])
