"""Calendly's webhook subscriptions API, for ``switchboard webhooks register|list|remove``.

The signing key is ours: it is given as ``signing_key`` when the subscription is created and is
write-only from then on ("Store it when you create the subscription"). A subscription cannot be
changed - not its events, not its key - and "in one organization, subscriptions for the same user
cannot share a URL": a new event list or a new key is a delete followed by a create. The key is
stored before that (the old one kept as ``previous_secret``), so every delivery verifies; the
bookings made in the instant between the two calls are not delivered.

A subscription belongs to an organization and a scope: ``user`` (the token owner's bookings, the
default) or ``organization`` (every member's; the ``calendly`` connection's optional ``scope``, which
needs an owner's or admin's token). The organization and user come from ``GET /users/me``.

Sources: https://developer.calendly.com/docs/webhooks/overview and the API reference
(``webhooks/create-webhook-subscription``, ``list-webhook-subscriptions`` - ``organization`` and
``scope`` required, ``count`` up to 100, ``page_token`` -, ``delete-webhook-subscription``,
``users/get-current-user``). Operator-side only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from apps.calendly import APP, uuid_of
from shared.subscriptions import JsonSubscriptions, Remote, Unsupported, Wanted

if TYPE_CHECKING:
    import httpx

__all__ = ["CalendlySubscriptions", "open_api"]

_PATH = "/webhook_subscriptions"


class _Subscription(BaseModel):
    model_config = ConfigDict(extra="ignore")

    uri: str
    callback_url: str = ""
    events: list[str] = []
    state: str = "active"
    created_at: str = ""

    def remote(self) -> Remote:
        return Remote(
            id=self.uri,
            url=self.callback_url,
            events=tuple(self.events),
            enabled=self.state == "active",
            created_at=self.created_at,
        )


class _One(BaseModel):
    model_config = ConfigDict(extra="ignore")

    resource: _Subscription


class _Pagination(BaseModel):
    model_config = ConfigDict(extra="ignore")

    next_page_token: str | None = None


class _Page(BaseModel):
    model_config = ConfigDict(extra="ignore")

    collection: list[_Subscription] = []
    pagination: _Pagination = _Pagination()


class _User(BaseModel):
    model_config = ConfigDict(extra="ignore")

    uri: str
    current_organization: str


class _Me(BaseModel):
    model_config = ConfigDict(extra="ignore")

    resource: _User


class CalendlySubscriptions(JsonSubscriptions):
    """:class:`shared.subscriptions.SubscriptionApi` for Calendly."""

    title = "Calendly"
    chooses_secret: Literal["provider", "us"] = "us"
    reports_secret = False
    labels = False
    app = APP

    def __init__(
        self, credentials: Mapping[str, str], *, transport: httpx.BaseTransport | None = None
    ) -> None:
        scope = credentials.get("scope") or "user"
        if scope not in ("user", "organization"):
            raise ValueError(f"calendly scope must be user or organization, not {scope!r}")
        self._scope = scope
        super().__init__(credentials, transport=transport)
        self._me: _User | None = None

    def _user(self) -> _User:
        if self._me is None:
            self._me = self._api.parse(_Me, self._api.request("GET", "/users/me"), "/users/me").resource
        return self._me

    def _owner(self) -> dict[str, str]:
        me = self._user()
        owner = {"organization": me.current_organization, "scope": self._scope}
        if self._scope == "user":
            owner["user"] = me.uri
        return owner

    def list(self) -> list[Remote]:
        found: list[Remote] = []
        token: str | None = None
        while True:
            params = {**self._owner(), "count": "100", **({"page_token": token} if token else {})}
            page = self._api.parse(_Page, self._api.request("GET", _PATH, params=params), _PATH)
            found += [s.remote() for s in page.collection]
            token = page.pagination.next_page_token
            if not token:
                return found

    def create(self, wanted: Wanted, secret: str | None) -> Remote:
        if not secret:
            raise ValueError("a Calendly subscription is created with our signing key")
        body = {"url": wanted.url, "events": list(wanted.events), **self._owner(), "signing_key": secret}
        return self._api.parse(_One, self._api.request("POST", _PATH, json=body), _PATH).resource.remote()

    def update(self, remote: Remote, wanted: Wanted) -> Remote:
        raise Unsupported("Calendly cannot change a subscription; it is deleted and made again")

    def rotate(self, remote: Remote, wanted: Wanted, secret: str | None) -> Remote:
        """Delete, then create with the new key (one subscription per URL)."""
        self.delete(remote)
        return self.create(wanted, secret)

    def delete(self, remote: Remote) -> None:
        self._api.request("DELETE", f"{_PATH}/{uuid_of(remote.id)}", template=_PATH + "/{uuid}", ok=(404,))

    def close(self) -> None:
        self._api.close()


def open_api(
    credentials: Mapping[str, str], *, transport: httpx.BaseTransport | None = None
) -> CalendlySubscriptions:
    return CalendlySubscriptions(credentials, transport=transport)
