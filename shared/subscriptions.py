"""A provider's webhook-subscription API, as ``switchboard webhooks register|list|remove`` drives it.

Square, Stripe, Calendly and Cal.com each let a program create the webhook subscription that a
person would otherwise click together in their dashboard - and hand back (or accept) the signing
secret. Each app implements :class:`SubscriptionApi` in ``apps/<app>/subscriptions.py`` with its
own client (per-SaaS knowledge stays in the app); the operations in :mod:`infra.ops.webhooks`
reconcile what a spec's webhook triggers want (:class:`Wanted`) with what the provider holds
(:class:`Remote`). Apps without such an API (Tally, a HubSpot app's webhook settings) describe the
manual steps instead (``manual_steps(ManualSetup) -> list[str]`` in the same module).

The providers differ in who chooses the signing secret, and that decides how a secret is rotated
without refusing a delivery (:attr:`SubscriptionApi.chooses_secret`):

* ``provider`` (Square, Stripe): the provider generates it and returns it once, when the
  subscription is created (Square also on ``signature-key`` rotation); it is stored right away.
* ``us`` (Calendly, Cal.com): we generate it, store it first (the old one kept as
  ``previous_secret``), then give it to the provider - so every delivery verifies throughout.

Operator-side code only (never on a Lambda path); standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

from shared.spec import Connection

if TYPE_CHECKING:
    import httpx

    from shared.app import App

__all__ = [
    "JsonSubscriptions",
    "ManualSetup",
    "Remote",
    "SubscriptionApi",
    "Unsupported",
    "Wanted",
    "label_for",
]

#: Square limits a subscription's ``name`` to 64 characters; the label fits every provider.
_MAX_LABEL = 64


def label_for(stage: str, integration: str, trigger: str) -> str:
    """How Switchboard names the subscriptions it makes, where the provider has a name field.

    The stage is part of it: a provider account often serves several stages (Stripe's test mode for
    ``dev``, live for ``prod``; one Square application), and ``remove`` must only touch its own.
    """
    return f"Switchboard {stage} {integration}.{trigger}"[:_MAX_LABEL]


@dataclass(frozen=True)
class Wanted:
    """What one webhook trigger needs at its provider: its URL and event types, and our label."""

    integration: str
    trigger: str
    url: str
    events: tuple[str, ...]
    label: str


@dataclass(frozen=True)
class Remote:
    """One subscription as the provider reports it, in the provider's own words.

    ``secret`` is set only where the provider returns the signing secret in that answer (Square's
    and Stripe's create, Square's key rotation, Cal.com always); ``label`` only where it has a field
    we can name a subscription by (Square's ``name``, Stripe's ``metadata``).
    """

    id: str
    url: str
    events: tuple[str, ...]
    enabled: bool
    label: str = ""
    secret: str | None = field(default=None, repr=False)
    created_at: str = ""

    def serves(self, wanted: Wanted) -> bool:
        """The same event types (in any order): nothing to update."""
        return set(self.events) == set(wanted.events) or "*" in self.events


class Unsupported(Exception):
    """The provider's API cannot do this to an existing subscription (Calendly cannot update one)."""


class SubscriptionApi(Protocol):
    """The five things ``webhooks register|list|remove`` needs from a provider."""

    #: The provider's name as people know it (``"Square"``), for messages.
    title: str
    #: Who generates the signing secret; see the module docstring.
    chooses_secret: Literal["provider", "us"]
    #: Whether :meth:`list` reports each subscription's secret (Cal.com does; the others never).
    reports_secret: bool
    #: Whether a subscription has a field Switchboard names it in (:attr:`Remote.label`).
    labels: bool

    def list(self) -> list[Remote]:
        """Every subscription the credentials can see (all pages)."""
        ...

    def create(self, wanted: Wanted, secret: str | None) -> Remote:
        """A new subscription. ``secret`` is ours (``chooses_secret == "us"``), else ``None`` and
        the answer's :attr:`Remote.secret` is the provider's."""
        ...

    def update(self, remote: Remote, wanted: Wanted) -> Remote:
        """Set its event types (and enable it, and name it). :class:`Unsupported` if it cannot."""
        ...

    def rotate(self, remote: Remote, wanted: Wanted, secret: str | None) -> Remote:
        """A new signing secret for the subscription at ``remote.url``; the answer carries it.

        Where the provider has no rotation of its own the answer is a new subscription (another
        id): the caller stores its secret first and deletes ``remote`` after, so that deliveries of
        either verify meanwhile. Calendly, which allows one subscription per URL, deletes and
        re-creates inside.
        """
        ...

    def delete(self, remote: Remote) -> None:
        """Delete it; one that is gone already is not an error."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ManualSetup:
    """What the manual steps of a provider without a subscription API need to say."""

    integration: str
    trigger: str
    url: str
    events: Sequence[str]
    #: The trigger's signing connection: where the secret the provider signs with goes.
    signing: Connection
    #: ``" --stage prod"`` or ``""``: appended to the commands the steps quote.
    stage_flag: str


class JsonSubscriptions:
    """Base of a :class:`SubscriptionApi` over the provider's JSON API, through the app's own
    :class:`~shared.http.ApiClient` (its auth, timeouts, error mapping and rate limits): a subclass
    names its :attr:`app` and implements the five calls."""

    app: ClassVar[App]

    def __init__(
        self, credentials: Mapping[str, str], *, transport: httpx.BaseTransport | None = None
    ) -> None:
        from shared.http import ApiClient

        self._api = ApiClient(self.app, credentials, transport=transport)
