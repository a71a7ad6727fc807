"""QuickBooks Online's typed client: the creates Switchboard makes, each once per key (``requestid``).

Intuit answers a repeated ``requestid`` with the first answer instead of creating again, and may
hide a Fault in a 200 (see :mod:`apps.quickbooks` and :mod:`.models` for the sources); the client
turns both into plain results and errors.

Worker path only. httpx (via :mod:`shared.http`) is imported for type checking only, so importing
the client is still cheap for the action catalogue.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from pydantic import ValidationError

from shared.errors import TargetRejected, TargetUnavailable

from . import APP, MAX_REQUEST_ID, MINOR_VERSION
from .models import Fault, Receipt, Transaction, parse_fault

if TYPE_CHECKING:
    from shared.http import ApiClient

__all__ = ["FaultError", "QuickBooksClient", "request_id"]


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

    def _create(self, entity: str, receipt: Receipt, key: str) -> Transaction:
        template = f"/v3/company/{{realmId}}/{entity}"
        path = f"/v3/company/{self.realm_id}/{entity}"
        params = {"minorversion": self.minor_version, "requestid": request_id(entity, key)}
        response = self._api.request("POST", path, json=receipt.body(), params=params, template=template)
        where = f"quickbooks POST {template}"
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
        answer = data.get(_ENTITIES[entity]) if isinstance(data, Mapping) else None
        try:
            return Transaction.model_validate(answer)
        except ValidationError as exc:
            raise TargetUnavailable(f"{where}: unexpected {response.status_code} body") from exc
