"""The ledger table through one small typed door: items as plain Python values, one key attribute.

Every Switchboard item lives in one DynamoDB table per stage, keyed on the string attribute ``id``
(idempotency and step records, attempt marks, OAuth leases, booking links, API keys and their
counters, audit records, stock copies). Callers used to build DynamoDB's attribute maps
(``{"S": ...}``, ``{"N": ...}``) by hand and to recognise a failed condition in three different
ways; here both are done once:

* values go in and come out as Python values through boto3's own ``TypeSerializer`` /
  ``TypeDeserializer`` (``str`` <-> ``S``, ``int``/``Decimal`` <-> ``N``, ``set[str]`` <-> ``SS``,
  ``list`` <-> ``L``, ``dict`` <-> ``M``, ``bool`` <-> ``BOOL``). A ``float`` is written as the
  number its ``repr`` shows (boto3 refuses floats rather than guess a precision); numbers come back
  as ``Decimal``. The stored shapes are exactly those the hand-built maps had - deployed tables hold
  them;
* a write whose condition does not hold raises :class:`ConditionFailed`, decided by
  :func:`is_condition_failure` alone; every other error is boto3's, unchanged, for the caller's own
  policy (retry later, treat as a miss, ignore).

It wraps the low-level client, not boto3's ``Table`` resource: the runtime shares one client per
service (:func:`shared.runtime.Runtime.aws`), and the benchmarks swap that client for a counting fake.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Literal

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from shared.runtime import Runtime

__all__ = [
    "KEY",
    "MAX_BATCH_GET",
    "MAX_BATCH_WRITE",
    "BatchRead",
    "ConditionFailed",
    "Item",
    "Table",
    "from_item",
    "is_condition_failure",
    "ledger_table",
    "to_item",
]

#: The table's partition key (a string), as the stacks and the local runtime create it.
KEY: Final = "id"
#: DynamoDB's limits per call: BatchGetItem reads at most 100 keys, BatchWriteItem 25 items.
MAX_BATCH_GET: Final = 100
MAX_BATCH_WRITE: Final = 25

#: An item as Python values (attribute name -> value).
Item = dict[str, Any]
ReturnValues = Literal["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"]

_CONDITION_FAILED: Final = "ConditionalCheckFailedException"
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class ConditionFailed(Exception):
    """A conditional write did not happen because its condition did not hold (nothing was written).

    ``item`` is the item as it stood, when the write asked for it (``returns_on_failure``): the one
    request that failed already read it, so the caller need not read it again.
    """

    def __init__(self, message: str, item: Item | None = None) -> None:
        super().__init__(message)
        self.item: Item = item or {}


def is_condition_failure(exc: BaseException) -> bool:
    """Whether a DynamoDB call failed only because its condition did not hold.

    botocore reports it as a ``ClientError`` with that error code (also when raised as the client's
    modelled ``ConditionalCheckFailedException`` subclass), on AWS and on moto alike.
    """
    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") == _CONDITION_FAILED


def _plain(value: Any) -> Any:
    """``value`` with every float as the Decimal its ``repr`` shows, the only number form boto3 takes."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """Python values -> DynamoDB attribute values."""
    return {name: _serializer.serialize(_plain(value)) for name, value in values.items()}


def from_item(attributes: Mapping[str, Any]) -> Item:
    """DynamoDB attribute values -> Python values (numbers as ``Decimal``)."""
    return {name: _deserializer.deserialize(value) for name, value in attributes.items()}


def _key(key: str) -> dict[str, Any]:
    return {KEY: {"S": key}}


@dataclass(frozen=True)
class BatchRead:
    """What one batch read found, and the keys DynamoDB left unread (throttling): ask again or skip."""

    items: list[Item]
    unprocessed: list[str]


class Table:
    """One Switchboard table through a boto3 DynamoDB client."""

    def __init__(self, client: Any, name: str) -> None:
        self._client = client
        self.name = name

    def get(self, key: str, *, consistent: bool = False) -> Item | None:
        """The item with this key, or ``None``."""
        answer = self._client.get_item(TableName=self.name, Key=_key(key), ConsistentRead=consistent)
        item = answer.get("Item")
        return from_item(item) if item else None

    def put(
        self,
        item: Mapping[str, Any],
        *,
        condition: str | None = None,
        values: Mapping[str, Any] | None = None,
        names: Mapping[str, str] | None = None,
        returns: Literal["NONE", "ALL_OLD"] = "NONE",
        returns_on_failure: bool = False,
    ) -> Item:
        """Write ``item`` (it holds its key); with ``condition`` only if that holds, else :class:`ConditionFailed`.

        ``returns="ALL_OLD"`` gives back the item the write replaced (empty: there was none), and
        ``returns_on_failure`` puts the item that failed the condition on the :class:`ConditionFailed`
        - both in the same request.
        """
        extra: dict[str, Any] = {"ReturnValues": returns} if returns != "NONE" else {}
        if returns_on_failure:
            extra["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        answer = self._call(
            self._client.put_item,
            Item=to_item(item),
            **extra,
            **_conditional(condition=condition, values=values, names=names),
        )
        return from_item(answer.get("Attributes") or {})

    def put_if_absent(self, item: Mapping[str, Any]) -> bool:
        """Write ``item`` unless an item with its key exists; whether it wrote."""
        try:
            self.put(item, condition=f"attribute_not_exists({KEY})")
        except ConditionFailed:
            return False
        return True

    def update(
        self,
        key: str,
        expression: str,
        *,
        values: Mapping[str, Any] | None = None,
        names: Mapping[str, str] | None = None,
        condition: str | None = None,
        returns: ReturnValues = "NONE",
    ) -> Item:
        """Apply an update expression; the attributes ``returns`` asks for (empty for ``NONE``).

        With ``condition``, only if that holds, else :class:`ConditionFailed`.
        """
        answer = self._call(
            self._client.update_item,
            Key=_key(key),
            UpdateExpression=expression,
            ReturnValues=returns,
            **_conditional(condition=condition, values=values, names=names),
        )
        return from_item(answer.get("Attributes") or {})

    def delete(
        self,
        key: str,
        *,
        condition: str | None = None,
        values: Mapping[str, Any] | None = None,
        names: Mapping[str, str] | None = None,
    ) -> None:
        """Delete the item (no error if there is none); with ``condition`` only if that holds."""
        self._call(
            self._client.delete_item,
            Key=_key(key),
            **_conditional(condition=condition, values=values, names=names),
        )

    def scan(
        self,
        *,
        where: str | None = None,
        values: Mapping[str, Any] | None = None,
        names: Mapping[str, str] | None = None,
    ) -> Iterator[Item]:
        """Every item (matching the filter expression ``where``), page by page: for operators' questions, not request paths."""
        request: dict[str, Any] = {"TableName": self.name}
        if where is not None:
            request["FilterExpression"] = where
        request |= _expression_values(values, names)
        while True:
            page = self._client.scan(**request)
            yield from (from_item(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def get_batch(self, keys: Sequence[str], *, consistent: bool = False) -> BatchRead:
        """One BatchGetItem of up to :data:`MAX_BATCH_GET` keys."""
        if len(keys) > MAX_BATCH_GET:
            raise ValueError(f"a batch read takes at most {MAX_BATCH_GET} keys, not {len(keys)}")
        wanted: dict[str, Any] = {"Keys": [_key(k) for k in keys]}
        if consistent:
            wanted["ConsistentRead"] = True
        answer = self._client.batch_get_item(RequestItems={self.name: wanted})
        left = answer.get("UnprocessedKeys", {}).get(self.name, {}).get("Keys", [])
        return BatchRead(
            items=[from_item(i) for i in answer.get("Responses", {}).get(self.name, [])],
            unprocessed=[str(k[KEY]["S"]) for k in left],
        )

    def put_batch(self, items: Sequence[Mapping[str, Any]]) -> int:
        """One BatchWriteItem of up to :data:`MAX_BATCH_WRITE` items; how many DynamoDB left unwritten."""
        if len(items) > MAX_BATCH_WRITE:
            raise ValueError(f"a batch write takes at most {MAX_BATCH_WRITE} items, not {len(items)}")
        requests = [{"PutRequest": {"Item": to_item(item)}} for item in items]
        answer = self._client.batch_write_item(RequestItems={self.name: requests})
        return len(answer.get("UnprocessedItems", {}).get(self.name, []))

    def _call(self, operation: Any, **request: Any) -> Any:
        try:
            return operation(TableName=self.name, **request)
        except ClientError as exc:
            if is_condition_failure(exc):
                held: Mapping[str, Any] | None = exc.response.get("Item")  # type: ignore[assignment]
                raise ConditionFailed(
                    f"{self.name}: {request.get('ConditionExpression')}", from_item(held) if held else None
                ) from exc
            raise


def ledger_table(rt: Runtime) -> Table:
    """The table of ``rt``'s stage, through ``rt``'s shared DynamoDB client."""
    return Table(rt.aws("dynamodb"), rt.table)


def _conditional(
    *, condition: str | None, values: Mapping[str, Any] | None, names: Mapping[str, str] | None
) -> dict[str, Any]:
    request: dict[str, Any] = {} if condition is None else {"ConditionExpression": condition}
    return request | _expression_values(values, names)


def _expression_values(values: Mapping[str, Any] | None, names: Mapping[str, str] | None) -> dict[str, Any]:
    request: dict[str, Any] = {}
    if values:
        request["ExpressionAttributeValues"] = to_item(values)
    if names:
        request["ExpressionAttributeNames"] = dict(names)
    return request
