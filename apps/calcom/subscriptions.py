"""Cal.com's webhooks API (API v2, ``/v2/webhooks``), for ``switchboard webhooks register|list|remove``.

The secret is ours, given as ``secret`` when the webhook is created or patched, and Cal.com answers it
back in every listing - so ``register`` can tell whether the secret it stored is the one Cal.com signs
with, and adopt Cal.com's when it is not. A webhook without a secret signs nothing (the signature
header says ``no-secret-provided``): ``register`` gives it one. One webhook per subscriber URL and
user; a webhook is changed in place (``PATCH``). Cal.com's API v1 (``/v1/webhooks?apiKey=``) is
deprecated; v2 is used, with ``Authorization: Bearer cal_...`` (the ``calcom`` connection's
``api_key``).

Sources: ``calcom/cal.com`` ``apps/api/v2/src/modules/webhooks/`` - ``controllers/webhooks.controller.ts``
(``POST|GET /v2/webhooks``, ``GET|PATCH|DELETE /v2/webhooks/:webhookId``, ``skip``/``take`` paging with
``take`` defaulting to 250), ``inputs/webhook.input.ts`` (``subscriberUrl``, ``triggers``, ``active``,
``secret``, ``payloadTemplate``), ``outputs/user-webhook.output.ts`` (``{"status", "data"}``) - and
https://cal.com/docs/api-reference/v2/webhooks/create-a-webhook. Operator-side only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from apps.calcom import APP
from shared.subscriptions import JsonSubscriptions, Remote, Wanted

if TYPE_CHECKING:
    import httpx

__all__ = ["CalcomWebhooks", "open_api"]

_PATH = "/v2/webhooks"
_TAKE = 250


class _Webhook(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | int
    subscriberUrl: str = ""
    triggers: list[str] = []
    active: bool = True
    secret: str | None = None

    def remote(self) -> Remote:
        return Remote(
            id=str(self.id),
            url=self.subscriberUrl,
            events=tuple(self.triggers),
            enabled=self.active,
            secret=self.secret or None,
        )


class _One(BaseModel):
    model_config = ConfigDict(extra="ignore")

    data: _Webhook


class _Many(BaseModel):
    model_config = ConfigDict(extra="ignore")

    data: list[_Webhook] = []


class CalcomWebhooks(JsonSubscriptions):
    """:class:`shared.subscriptions.SubscriptionApi` for Cal.com."""

    title = "Cal.com"
    chooses_secret: Literal["provider", "us"] = "us"
    reports_secret = True
    labels = False
    app = APP

    def list(self) -> list[Remote]:
        found: list[Remote] = []
        skip = 0
        while True:
            params = {"skip": str(skip), "take": str(_TAKE)}
            page = self._api.parse(_Many, self._api.request("GET", _PATH, params=params), _PATH)
            found += [w.remote() for w in page.data]
            if len(page.data) < _TAKE:
                return found
            skip += _TAKE

    def create(self, wanted: Wanted, secret: str | None) -> Remote:
        if not secret:
            raise ValueError("a Cal.com webhook is created with our secret (without one it signs nothing)")
        body = {
            "subscriberUrl": wanted.url,
            "triggers": list(wanted.events),
            "active": True,
            "secret": secret,
        }
        return self._api.parse(_One, self._api.request("POST", _PATH, json=body), _PATH).data.remote()

    def update(self, remote: Remote, wanted: Wanted) -> Remote:
        path = f"{_PATH}/{remote.id}"
        body = {"triggers": list(wanted.events), "active": True}
        answer = self._api.request("PATCH", path, json=body, template=_PATH + "/{id}")
        return self._api.parse(_One, answer, path).data.remote()

    def rotate(self, remote: Remote, wanted: Wanted, secret: str | None) -> Remote:
        if not secret:
            raise ValueError("a Cal.com secret is rotated to one of ours")
        path = f"{_PATH}/{remote.id}"
        answer = self._api.request("PATCH", path, json={"secret": secret}, template=_PATH + "/{id}")
        return self._api.parse(_One, answer, path).data.remote()

    def delete(self, remote: Remote) -> None:
        self._api.request("DELETE", f"{_PATH}/{remote.id}", template=_PATH + "/{id}", ok=(404,))

    def close(self) -> None:
        self._api.close()


def open_api(
    credentials: Mapping[str, str], *, transport: httpx.BaseTransport | None = None
) -> CalcomWebhooks:
    return CalcomWebhooks(credentials, transport=transport)
