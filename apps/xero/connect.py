"""What a connect link keeps besides the tokens: the organisation the owner connected.

Xero's consent page lets the owner tick one organisation or several; the callback says nothing about
which (unlike Intuit's ``realmId``). After the code exchange, ``GET https://api.xero.com/connections``
with the new access token lists them (https://developer.xero.com/documentation/guides/oauth2/tenants/),
and the one to book in is kept as ``tenant_id`` in the connection's secret - run by
``functions/oauth_connect`` through ``App.after_connect``:

* one organisation: that one;
* several: the one kept before, if it is still among them (a reconnect keeps the operator's choice);
  otherwise none - ``tenant_id`` is emptied, so nothing is booked into a guessed organisation, and the
  first booking says which ones there are and how to choose (:class:`~apps.xero.client.TenantNotChosen`).

Callback path only (imports the client and pydantic).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .client import organisations

if TYPE_CHECKING:
    from shared.http import ApiClient

__all__ = ["connected_tenant"]


def connected_tenant(api: ApiClient, credentials: Mapping[str, str]) -> dict[str, str]:
    """``{"tenant_id": ...}`` to keep after connecting (empty when the owner must choose)."""
    ids = [o.tenantId for o in organisations(api)]
    if len(ids) == 1:
        return {"tenant_id": ids[0]}
    previous = credentials.get("tenant_id", "")
    return {"tenant_id": previous if previous in ids else ""}
