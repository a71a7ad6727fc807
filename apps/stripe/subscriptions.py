"""Stripe's webhook endpoints API, for ``switchboard webhooks register|list|remove``.

Stripe generates an endpoint's signing secret (``whsec_...``) and answers it once - "Only returned at
creation" - and has no API to roll it (rolling is a Dashboard action). So a rotation here is a new
endpoint for the same URL: its secret is stored (the old one kept as ``previous_secret``), then the
old endpoint is deleted; meanwhile both deliver, each signed with its own secret, and the event id
makes the second delivery a duplicate. Switchboard tags its endpoints with
``metadata[switchboard]`` (:func:`shared.subscriptions.label_for`) and pins ``api_version`` to
:data:`apps.stripe.STRIPE_API_VERSION`, the version the payload models were written for.

Requests are form-encoded, arrays as ``enabled_events[0]=...``, with ``Authorization: Bearer <key>``
(the ``stripe`` connection's ``api_key``: a restricted key with Webhook Endpoints write access is
enough); lists are cursor-paged (``limit`` up to 100, ``starting_after``, ``has_more``). Errors are
``{"error": {"type", "code", "message", "param"}}``. Sources: https://docs.stripe.com/api/webhook_endpoints
(create, list, update, delete) and https://docs.stripe.com/api/pagination. Operator-side only.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from apps.stripe import APP, STRIPE_API_VERSION
from shared.errors import MissingSecret, RateLimited, TargetRejected, TargetTimeout, TargetUnavailable
from shared.http import parse_retry_after
from shared.redact import redact_text
from shared.subscriptions import Remote, Wanted

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["StripeEndpoints", "open_api"]

_PATH = "/v1/webhook_endpoints"
#: The metadata key Switchboard names its endpoints in.
LABEL_KEY = "switchboard"


class _Endpoint(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    url: str = ""
    enabled_events: list[str] = []
    status: str = "enabled"
    metadata: dict[str, str] = {}
    secret: str | None = None
    created: int = 0

    def remote(self) -> Remote:
        return Remote(
            id=self.id,
            url=self.url,
            events=tuple(self.enabled_events),
            enabled=self.status == "enabled",
            label=self.metadata.get(LABEL_KEY, ""),
            secret=self.secret,
            created_at=str(self.created),
        )


class _List(BaseModel):
    model_config = ConfigDict(extra="ignore")

    data: list[_Endpoint] = Field(default_factory=list)
    has_more: bool = False


class StripeEndpoints:
    """:class:`shared.subscriptions.SubscriptionApi` for Stripe."""

    title = "Stripe"
    chooses_secret: Literal["provider", "us"] = "provider"
    reports_secret = False
    labels = True

    def __init__(
        self, credentials: Mapping[str, str], *, transport: httpx.BaseTransport | None = None
    ) -> None:
        key = credentials.get(APP.token_field)
        if not key:
            raise MissingSecret(f"connection for stripe has no {APP.token_field!r}")
        self._http = httpx.Client(
            base_url=(credentials.get("base_url") or APP.base_url).rstrip("/"),
            headers={
                "authorization": f"Bearer {key}",
                "user-agent": "switchboard/0.1",
                "accept": "application/json",
            },
            timeout=httpx.Timeout(APP.read_timeout_s, connect=APP.connect_timeout_s),
            transport=transport,
        )

    # --- wire ----------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        form: Sequence[tuple[str, str]] | None = None,
        params: Mapping[str, str] | None = None,
        template: str = _PATH,
        ok: tuple[int, ...] = (),
    ) -> httpx.Response:
        headers = {"idempotency-key": str(uuid.uuid4())} if method == "POST" else {}
        where = f"stripe {method} {template}"
        try:
            response = self._http.request(
                method, path, data=dict(_pairs(form)) if form else None, params=params, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise TargetTimeout(f"{where}: timed out") from exc
        except httpx.TransportError as exc:
            raise TargetUnavailable(f"{where}: {type(exc).__name__}") from exc
        if response.is_success or response.status_code in ok:
            return response
        text = f"{where}: {response.status_code} {redact_text(response.text[:500])}".strip()
        if response.status_code == 429:
            raise RateLimited(text, retry_after=parse_retry_after(response.headers.get("retry-after")))
        if response.status_code >= 500:
            raise TargetUnavailable(text)
        raise TargetRejected(text, status=response.status_code, app="stripe")

    @staticmethod
    def _parse(model: type[BaseModel], response: httpx.Response) -> Any:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise TargetUnavailable(f"stripe {response.request.method} {_PATH}: unexpected body") from exc

    # --- the API -------------------------------------------------------------------------------

    def list(self) -> list[Remote]:
        found: list[Remote] = []
        after: str | None = None
        while True:
            params = {"limit": "100", **({"starting_after": after} if after else {})}
            page: _List = self._parse(_List, self._call("GET", _PATH, params=params))
            found += [e.remote() for e in page.data]
            if not page.has_more or not page.data:
                return found
            after = page.data[-1].id

    def create(self, wanted: Wanted, secret: str | None) -> Remote:
        form = [
            ("url", wanted.url),
            *_events(wanted.events),
            ("description", f"Switchboard {wanted.integration}.{wanted.trigger}"),
            (f"metadata[{LABEL_KEY}]", wanted.label),
            ("api_version", STRIPE_API_VERSION),
        ]
        endpoint: _Endpoint = self._parse(_Endpoint, self._call("POST", _PATH, form=form))
        return endpoint.remote()

    def update(self, remote: Remote, wanted: Wanted) -> Remote:
        form = [*_events(wanted.events), ("disabled", "false"), (f"metadata[{LABEL_KEY}]", wanted.label)]
        answer = self._call("POST", f"{_PATH}/{remote.id}", form=form, template=_PATH + "/{id}")
        endpoint: _Endpoint = self._parse(_Endpoint, answer)
        return endpoint.remote()

    def rotate(self, remote: Remote, wanted: Wanted, secret: str | None) -> Remote:
        """A new endpoint for the same URL (Stripe cannot roll a secret through the API); the
        caller deletes ``remote`` once the new secret is stored."""
        return self.create(wanted, None)

    def delete(self, remote: Remote) -> None:
        self._call("DELETE", f"{_PATH}/{remote.id}", template=_PATH + "/{id}", ok=(404,))

    def close(self) -> None:
        self._http.close()


def _events(events: Sequence[str]) -> list[tuple[str, str]]:
    return [(f"enabled_events[{i}]", e) for i, e in enumerate(events)]


def _pairs(form: Sequence[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """Form pairs; every key appears once (arrays are indexed), so a dict keeps them all."""
    seen: set[str] = set()
    for key, value in form:
        if key in seen:
            raise ValueError(f"form key {key} twice")
        seen.add(key)
        yield key, value


def open_api(
    credentials: Mapping[str, str], *, transport: httpx.BaseTransport | None = None
) -> StripeEndpoints:
    return StripeEndpoints(credentials, transport=transport)
