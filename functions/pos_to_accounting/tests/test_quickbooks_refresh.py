"""Two workers refreshing the same QuickBooks connection at once: one refresh call, tokens consistent.

Two ``Runtime`` objects are two Lambda containers (own token caches); they share moto's secret and
ledger table like two containers share AWS. The QuickBooks sandbox's token endpoint rotates the
refresh token on every refresh and refuses a spent one, as Intuit does - so a second refresh, or a
spent refresh token left in the secret, would show.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from apps import quickbooks as qb
from apps.quickbooks.standin import QuickBooksSandbox
from sandbox.base import SandboxApp, SandboxRequest
from shared.clients import api_client
from shared.runtime import Runtime


def test_two_containers_booking_at_once_refresh_quickbooks_once(
    make_runtime: Any, sandboxes: dict[str, SandboxApp], aws: Any
) -> None:
    books = sandboxes["quickbooks"]
    assert isinstance(books, QuickBooksSandbox)
    # The refresh takes a while, so the two containers really overlap.
    fault = {"kind": "slow", "delay_s": 1.0, "path": "/oauth2/v1/tokens/bearer"}
    books.handle(SandboxRequest("POST", "/_faults", body=json.dumps(fault).encode()))
    containers: list[Runtime] = [make_runtime("pos_to_accounting") for _ in range(2)]
    tokens: dict[int, str] = {}
    errors: list[BaseException] = []
    lease = {"id": {"S": f"oauth#{containers[0].secret_prefix}{qb.CONNECTION.name}"}}

    def lease_taken() -> bool:
        return "Item" in aws.client("dynamodb").get_item(TableName=containers[0].table, Key=lease)

    def work(i: int, rt: Runtime) -> None:
        try:
            # The second container asks while the first one's refresh is under way (its lease
            # taken, its token call not answered yet): the moment a naive refresh would race.
            deadline = time.monotonic() + 10
            while i and not lease_taken() and time.monotonic() < deadline:
                time.sleep(0.01)
            client = api_client(rt, qb.APP, qb.CONNECTION)
            tokens[i] = client._http.headers["authorization"]
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, rt)) for i, rt in enumerate(containers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert not errors
    assert books.oauth.refresh_calls == 1
    assert tokens[0] == tokens[1]
    secret = json.loads(
        aws.client("secretsmanager").get_secret_value(
            SecretId=containers[0].secret_prefix + qb.CONNECTION.name
        )["SecretString"]
    )
    assert tokens[0] == f"Bearer {secret['access_token']}"
    assert secret["refresh_token"] in books.oauth.refresh_tokens  # the live one, never a spent one
    assert secret["realm_id"]  # the other fields of the connection are kept
