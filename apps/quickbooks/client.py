"""QuickBooks Online's typed client: the creates Switchboard makes, each once per key.

Two guards keep a receipt single when an answer is lost (a timeout after Intuit booked it, a worker
that died before the ledger recorded the step):

* ``requestid``: Intuit answers a repeated id with the first answer instead of creating again - but
  documents no retention for it (https://blogs.intuit.com/2015/04/06/15346/ names none), while a
  retry can come hours later and a DLQ redrive days later;
* so the ledger carries it: every receipt's ``PrivateNote`` ends with :data:`MARKER_PREFIX` and its
  requestid, and a create made in a ledger step after an earlier attempt of that step first looks for
  that marker among the receipts QuickBooks created while the earlier attempts ran
  (:meth:`QuickBooksClient.find_receipt`: the query operation, ``MetaData.CreateTime`` inside the
  ledger's :class:`~shared.ledger.AttemptWindow`). A receipt found is answered as if just created.

On a first attempt (the ledger saw none before) nothing is looked up: one call, as before. Outside a
ledger step (an MCP tool call) there is no attempt record; the tool's own idempotency key and
``requestid`` are what guard a repeat there.

Intuit may also hide a Fault in a 200 (see :mod:`apps.quickbooks` and :mod:`.models` for the
sources); the client turns it into an error.

Worker path only. httpx (via :mod:`shared.http`) is imported for type checking only, so importing
the client is still cheap for the action catalogue.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from pydantic import ValidationError

from shared.errors import TargetRejected, TargetUnavailable

from . import APP, MAX_PRIVATE_NOTE, MAX_REQUEST_ID, MINOR_VERSION
from .models import Fault, Receipt, Transaction, parse_fault

if TYPE_CHECKING:
    import httpx

    from shared.http import ApiClient
    from shared.ledger import AttemptWindow

__all__ = [
    "MARKER_PREFIX",
    "QUERY_MAX_PAGES",
    "QUERY_PAGE",
    "FaultError",
    "QuickBooksClient",
    "marked_note",
    "request_id",
]

#: The last line of every receipt's ``PrivateNote``: this, then the requestid that booked it.
MARKER_PREFIX: Final = "Switchboard ref "
#: Receipts per query answer: Intuit's maximum ("the max number of entities that can be returned in a
#: response is 1000").
QUERY_PAGE: Final = 1000
#: Pages read at most per lookup. The window is the minutes earlier attempts ran, so this is ten
#: thousand receipts booked in those minutes - far beyond a small business. A lookup that has not found
#: its receipt by then is inconclusive and the create is made (``requestid`` may still catch it).
QUERY_MAX_PAGES: Final = 10


def marked_note(note: str | None, marker: str) -> str:
    """``note`` with ``marker`` as its last line, within PrivateNote's 4000 characters.

    The note's beginning is kept (where a handler puts the ids a person searches for), the marker always.
    """
    tail = f"\n{marker}" if note else marker
    return (note or "")[: MAX_PRIVATE_NOTE - len(tail)] + tail


def _earlier_attempt() -> AttemptWindow | None:
    """When earlier attempts of the current ledger step ran, if any did; else ``None``.

    Asked *before* the create, so that the create is on record as attempted even if its answer is lost.
    """
    from shared.http import current_work

    stamp = current_work.get()
    return stamp.earlier_attempt() if stamp is not None else None


def _query_time(epoch: float) -> str:
    """A time literal for the query language: ISO 8601 with its offset, whole seconds, UTC."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def request_id(entity: str, key: str) -> str:
    """The ``requestid`` for creating ``entity`` once for ``key`` (a payment or refund id ...).

    A hash, not the key itself: keys such as ``stripe:refund:ch_3Pq...:1200`` can exceed Intuit's
    50 characters, and the same id must never be reused for a *different* create in the same company
    (so the entity is part of it). 50 hex digits of SHA-256 (200 bits) cannot collide in practice.
    """
    return hashlib.sha256(f"{entity}:{key}".encode()).hexdigest()[:MAX_REQUEST_ID]


class FaultError(TargetRejected):
    """QuickBooks refused a request with a Fault (also when it came with HTTP 200)."""

    def __init__(self, message: str, *, status: int, fault: Fault) -> None:
        super().__init__(message, status=status, app=APP.name)
        self.fault = fault


#: Fault types that are Intuit's own failure (``SystemFault`` 10000, the gateway's ``SERVICE``).
_SYSTEM_FAULTS: Final = frozenset({"SystemFault", "SERVICE"})
#: Entities this client creates, with the key of their answer.
_ENTITIES: Final[Mapping[str, str]] = {"salesreceipt": "SalesReceipt", "refundreceipt": "RefundReceipt"}


class QuickBooksClient:
    """Typed QuickBooks Online calls on top of :class:`shared.http.ApiClient`.

    ApiClient owns transport, the bearer token (refreshed by :mod:`shared.oauth`), timeouts and the
    status mapping (429 -> ``RateLimited``, 5xx -> ``TargetUnavailable``, other 4xx ->
    ``TargetRejected`` with Intuit's fault text); this class knows the paths, the minor version,
    ``requestid`` and the fault that can hide in a 200.
    """

    def __init__(self, api: ApiClient, realm_id: str, *, minor_version: str = MINOR_VERSION) -> None:
        if not realm_id.isdigit():
            raise ValueError("a QuickBooks realm id is a number (the company id)")
        self._api = api
        self.realm_id = realm_id
        self.minor_version = minor_version

    def create_sales_receipt(self, receipt: Receipt, *, key: str) -> Transaction:
        """Book a sale, once per ``key`` (the payment's stable id), however often it is retried."""
        return self._create("salesreceipt", receipt, key)

    def create_refund_receipt(self, receipt: Receipt, *, key: str) -> Transaction:
        """Book a refund, once per ``key`` (the refund's stable id)."""
        return self._create("refundreceipt", receipt, key)

    def find_receipt(self, entity: str, marker: str, window: AttemptWindow) -> Transaction | None:
        """The receipt of ``entity`` whose PrivateNote holds ``marker``, created inside ``window``.

        The query operation (``GET .../query``), filtered on ``MetaData.CreateTime`` - filterable,
        unlike ``PrivateNote`` - between the window's ends widened by the clock skew, read
        :data:`QUERY_PAGE` receipts at a time. Bounded on both sides: a redrive days later reads the
        minutes its earlier attempts ran, not the days since.
        """
        start, end = window.widened()
        name = _ENTITIES[entity]
        template = "/v3/company/{realmId}/query"
        path = f"/v3/company/{self.realm_id}/query"
        for page in range(QUERY_MAX_PAGES):
            statement = (
                f"select * from {name} where MetaData.CreateTime >= '{_query_time(math.floor(start))}' "  # noqa: S608 - Intuit's query language; every value is ours
                f"and MetaData.CreateTime <= '{_query_time(math.ceil(end))}' "
                f"startposition {page * QUERY_PAGE + 1} maxresults {QUERY_PAGE}"
            )
            params = {"query": statement, "minorversion": self.minor_version}
            response = self._api.request("GET", path, params=params, template=template)
            data = self._answer(response, f"quickbooks GET {template}")
            rows = data.get("QueryResponse", {}).get(name, []) if isinstance(data, Mapping) else []
            for row in rows if isinstance(rows, list) else []:
                if isinstance(row, Mapping) and marker in str(row.get("PrivateNote") or ""):
                    return self._transaction(row, response, f"quickbooks GET {template}")
            if len(rows) < QUERY_PAGE:
                return None
        return None

    def _create(self, entity: str, receipt: Receipt, key: str) -> Transaction:
        template = f"/v3/company/{{realmId}}/{entity}"
        path = f"/v3/company/{self.realm_id}/{entity}"
        rid = request_id(entity, key)
        marker = f"{MARKER_PREFIX}{rid}"
        earlier = _earlier_attempt()
        if earlier is not None:  # an earlier attempt may have booked it and lost the answer
            found = self.find_receipt(entity, marker, earlier)
            if found is not None:
                return found
        body = receipt.model_copy(update={"PrivateNote": marked_note(receipt.PrivateNote, marker)}).body()
        params = {"minorversion": self.minor_version, "requestid": rid}
        response = self._api.request("POST", path, json=body, params=params, template=template)
        where = f"quickbooks POST {template}"
        data = self._answer(response, where)
        answer = data.get(_ENTITIES[entity]) if isinstance(data, Mapping) else None
        return self._transaction(answer, response, where)

    @staticmethod
    def _answer(response: httpx.Response, where: str) -> Any:
        """The parsed body (decimals exact), or the error its Fault - even in a 200 - stands for."""
        try:
            data = json.loads(response.content, parse_float=Decimal)
        except ValueError as exc:
            raise TargetUnavailable(f"{where}: unexpected {response.status_code} body (not JSON)") from exc
        fault = parse_fault(data)
        if fault is not None:
            reason = f"{where}: {response.status_code} {fault.summary()}"
            if fault.type in _SYSTEM_FAULTS:  # Intuit's side failed: a later attempt may succeed
                raise TargetUnavailable(reason)
            raise FaultError(reason, status=response.status_code, fault=fault)
        return data

    @staticmethod
    def _transaction(answer: Any, response: httpx.Response, where: str) -> Transaction:
        try:
            return Transaction.model_validate(answer)
        except ValidationError as exc:
            raise TargetUnavailable(f"{where}: unexpected {response.status_code} body") from exc
