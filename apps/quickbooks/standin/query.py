"""The QuickBooks stand-in's query language (:mod:`apps.quickbooks.standin`).

``GET /v3/company/{realmId}/query?query=...`` takes Intuit's select statement - ``SELECT * | count(*)
FROM SalesReceipt | RefundReceipt [WHERE ...] [ORDERBY ...] [STARTPOSITION n] [MAXRESULTS n]`` - and
this module parses it as the real API does (grammar, filterable fields, limits, and the ``4000`` /
``4001`` faults: see the stand-in's module docstring). It also holds what the parser's faults need and
the stand-in shares: Intuit's ``Fault`` body (:func:`_fault`, :class:`_Invalid`), the company's time
zone and the entity names; :mod:`apps.quickbooks.standin` imports them from here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Final

from sandbox.base import SandboxResponse

_ENTITIES: Final[Mapping[str, str]] = {"salesreceipt": "SalesReceipt", "refundreceipt": "RefundReceipt"}
#: Intuit writes times in the company's zone; the sandbox company is in London (winter: +00:00).
_ZONE: Final = timezone(timedelta(0))


def _now_text(epoch: float) -> str:
    when = datetime.fromtimestamp(epoch, UTC).astimezone(_ZONE)
    return when.isoformat(timespec="milliseconds")


def _fault(
    status: int, code: str, message: str, detail: str, element: str = "", fault_type: str = "ValidationFault"
) -> SandboxResponse:
    error = {"Message": message, "Detail": detail, "code": code, "element": element}
    body = {"Fault": {"Error": [error], "type": fault_type}, "time": _now_text(time.time())}
    return SandboxResponse.json(body, status)


class _Invalid(Exception):
    def __init__(self, response: SandboxResponse) -> None:
        super().__init__(response.status)
        self.response = response


def _invalid(code: str, message: str, detail: str, element: str = "") -> _Invalid:
    return _Invalid(_fault(400, code, message, detail, element))


# --- the query language ---------------------------------------------------------------------------

#: Entity name in a query (case-sensitive, as Intuit documents) -> the stand-in's kind.
_ENTITY_OF_NAME: Final[Mapping[str, str]] = {name: kind for kind, name in _ENTITIES.items()}
#: Fields of SalesReceipt and RefundReceipt that the entity references mark filterable (and sortable).
_FILTERABLE: Final = frozenset(
    {"Id", "DocNumber", "TxnDate", "MetaData.CreateTime", "MetaData.LastUpdatedTime"}
)
_TIMES: Final = frozenset({"MetaData.CreateTime", "MetaData.LastUpdatedTime"})
#: "The maximum number of entities that can be returned in a response is 1000"; 100 when not given.
_MAX_RESULTS: Final = 1000
_DEFAULT_RESULTS: Final = 100
_STATEMENT: Final = re.compile(
    r"^\s*select\s+(?P<what>\*|count\(\s*\*\s*\))\s+from\s+(?P<entity>\w+)"
    r"(?:\s+where\s+(?P<where>.+?))?"
    r"(?:\s+orderby\s+(?P<order>[\w.]+)(?:\s+(?P<direction>asc|desc))?)?"
    r"(?:\s+startposition\s+(?P<start>\d+))?"
    r"(?:\s+maxresults\s+(?P<max>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_QUOTED: Final = r"'(?:[^'\\]|\\.)*'"
_LITERAL: Final = rf"(?:{_QUOTED}|[\w.:+-]+)"
_CONDITION: Final = re.compile(
    r"\s*(?P<field>[A-Za-z][\w.]*)\s*(?P<op><=|>=|=|<|>|in\b|like\b)\s*"
    rf"(?P<value>{_QUOTED}|\(\s*{_LITERAL}(?:\s*,\s*{_LITERAL})*\s*\)|[\w.:+-]+)\s*",
    re.IGNORECASE,
)
_AND: Final = re.compile(r"and\b", re.IGNORECASE)
_ITEM: Final = re.compile(rf"{_QUOTED}|[\w.:+-]+")


def _parse_error(detail: str) -> _Invalid:
    return _invalid("4000", "Error parsing query", f"QueryParserError: {detail}")


def _not_queryable(detail: str) -> _Invalid:
    return _invalid("4001", "Invalid query", f"QueryValidationError: {detail}")


def _unquoted(token: str) -> str:
    if token.startswith("'") and token.endswith("'") and len(token) >= 2:
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    return token


def _field_value(field: str, raw: str) -> Any:
    """A literal as the field compares it: a time, a date, a number (Id) or text."""
    text = _unquoted(raw)
    try:
        if field in _TIMES:
            when = datetime.fromisoformat(text)
            return when if when.tzinfo is not None else when.replace(tzinfo=_ZONE)
        if field == "TxnDate":
            return date.fromisoformat(text)
    except ValueError:
        raise _not_queryable(f"{raw} is not a valid value for {field}") from None
    if field == "Id":
        return int(text) if text.isdigit() else text
    return text


def _row_value(field: str, row: Mapping[str, Any]) -> Any:
    if field in _TIMES:
        return datetime.fromisoformat(str(row["MetaData"][field.split(".", 1)[1]]))
    if field == "TxnDate":
        return date.fromisoformat(str(row["TxnDate"]))
    value = row.get(field)
    if field == "Id" and isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def _sort_key(field: str, row: Mapping[str, Any]) -> tuple[bool, Any]:
    value = _row_value(field, row)
    return (value is None, value if value is not None else 0)


@dataclass(frozen=True)
class _Condition:
    field: str
    op: str
    values: tuple[Any, ...]

    def holds(self, row: Mapping[str, Any]) -> bool:
        value = _row_value(self.field, row)
        if value is None:
            return False
        if self.op == "in":
            return value in self.values
        [wanted] = self.values
        if self.op == "like":
            pattern = "".join(".*" if part == "%" else re.escape(part) for part in re.split("(%)", wanted))
            return re.fullmatch(pattern, str(value), re.DOTALL) is not None
        try:
            return bool(
                {
                    "=": value == wanted,
                    "<": value < wanted,
                    ">": value > wanted,
                    "<=": value <= wanted,
                    ">=": value >= wanted,
                }[self.op]
            )
        except TypeError:  # a number against text: Intuit compares nothing, so nothing matches
            return False


@dataclass(frozen=True)
class _Statement:
    entity: str
    count: bool
    conditions: tuple[_Condition, ...]
    order: tuple[str, bool] | None
    start: int
    max_results: int


def _parse_query(text: str) -> _Statement:
    """A select statement as Intuit's query operation takes it, or the fault Intuit answers."""
    if not text.strip():
        raise _parse_error("the query parameter is missing or empty")
    match = _STATEMENT.match(text)
    if match is None:
        raise _parse_error(f"Encountered an unexpected token in {text[:200]!r}")
    entity = match["entity"]
    if entity not in _ENTITY_OF_NAME:
        raise _not_queryable(
            f"the stand-in serves queries of {' and '.join(sorted(_ENTITY_OF_NAME))} only, not {entity}"
        )
    conditions: list[_Condition] = []
    where, pos = match["where"] or "", 0
    while where and pos < len(where):
        found = _CONDITION.match(where, pos)
        if found is None:
            raise _parse_error(f"Encountered an unexpected token at {where[pos : pos + 40]!r}")
        field, op = found["field"], found["op"].lower()
        if field not in _FILTERABLE:
            raise _not_queryable(f"property '{field}' is not queryable")
        raw = found["value"]
        if op == "in":
            if not raw.startswith("("):
                raise _parse_error(f"IN takes a list in parentheses, not {raw}")
            values = tuple(_field_value(field, item) for item in _ITEM.findall(raw[1:-1]))
        else:
            if raw.startswith("("):
                raise _parse_error(f"{op} takes one value, not a list")
            values = (_field_value(field, raw),)
        conditions.append(_Condition(field, op, values))
        pos = found.end()
        if pos < len(where):
            joined = _AND.match(where, pos)
            if joined is None:  # OR is not supported, nor anything else between conditions
                raise _parse_error(f"Encountered an unexpected token at {where[pos : pos + 40]!r}")
            pos = joined.end()
    order = None
    if match["order"]:
        if match["order"] not in _FILTERABLE:
            raise _not_queryable(f"property '{match['order']}' is not sortable")
        order = (match["order"], (match["direction"] or "").lower() == "desc")
    start = int(match["start"] or 1)
    if start < 1:
        raise _parse_error("STARTPOSITION starts at 1")
    max_results = min(int(match["max"] or _DEFAULT_RESULTS), _MAX_RESULTS)
    return _Statement(entity, match["what"] != "*", tuple(conditions), order, start, max_results)
