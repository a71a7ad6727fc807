"""Which webhook triggers an integration has, where each must point, and how its provider is set up.

For each :class:`~shared.spec.WebhookTrigger` of a spec: the URL the provider must call - the local
runtime's gateway, a deployed stage's API URL (its stack outputs, :mod:`infra.ops.urls`), or
``--base-url`` for a custom domain in front of it - its event types, and the app module that knows the
provider (``apps/<app>/subscriptions.py``): an API client (``open_api``) or the manual steps
(``manual_steps``). Nothing here names an app.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from apps import modules_named
from infra.cdk.naming import pascal
from infra.ops.target import CliError, Target
from shared.registry import load_specs
from shared.spec import IntegrationSpec, WebhookTrigger
from shared.subscriptions import ManualSetup, SubscriptionApi, Wanted, label_for

if TYPE_CHECKING:
    import httpx

__all__ = ["Hook", "hooks_of", "stage_flag"]

OpenApi = Callable[..., SubscriptionApi]


@dataclass(frozen=True)
class Hook:
    """One webhook trigger, its wanted subscription, and what its app offers to set it up."""

    spec: IntegrationSpec
    trigger: WebhookTrigger
    wanted: Wanted
    module: ModuleType | None

    @property
    def name(self) -> str:
        return f"{self.spec.name}.{self.trigger.name}"

    @property
    def app(self) -> str:
        return self.trigger.secret.app

    @property
    def has_api(self) -> bool:
        return self.trigger.registration is not None and callable(getattr(self.module, "open_api", None))

    def open(self, credentials: Mapping[str, str], transport: httpx.BaseTransport | None) -> SubscriptionApi:
        opener = cast("OpenApi", self.module.open_api)  # type: ignore[union-attr]
        return opener(credentials, transport=transport)

    def manual(self, flag: str) -> list[str]:
        """The steps by hand: the app's own, or what any signed webhook sender needs."""
        setup = ManualSetup(
            self.spec.name, self.trigger.name, self.wanted.url, self.wanted.events, self.trigger.secret, flag
        )
        steps: Any = getattr(self.module, "manual_steps", None)
        if callable(steps):
            return list(steps(setup))
        secret = self.trigger.secret.name
        events = f" for {', '.join(self.wanted.events)}" if self.wanted.events else ""
        return [
            f"In the sending service's webhook settings, add the URL {self.wanted.url}{events}.",
            f"Signing: it signs with the secret in {secret} ({self.trigger.verifier.scheme}); set the value "
            f"you give it with: switchboard secrets set {secret} secret=-{flag}",
            f"  (changing it: keep the old value as previous_secret while the sender switches: "
            f"switchboard secrets set {secret} previous_secret=-{flag})",
        ]


def stage_flag(target: Target) -> str:
    return "" if target.is_local else f" --stage {target.stage}"


def _module(app: str) -> ModuleType | None:
    name = f"apps.{app}.subscriptions"
    return importlib.import_module(name) if name in modules_named("subscriptions") else None


def _urls(target: Target, spec: IntegrationSpec, base_url: str | None) -> Callable[[WebhookTrigger], str]:
    if base_url is not None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise CliError(f"--base-url {base_url!r} is not a base URL like https://hooks.example.com")
        return lambda t: base_url.rstrip("/") + t.path
    if target.is_local:
        return lambda t: (target.gateway or "").rstrip("/") + t.path
    from infra.ops.urls import stack_outputs

    outputs = stack_outputs(target)

    def deployed(t: WebhookTrigger) -> str:
        url = outputs.get(f"{pascal(spec.name, t.name)}Url")
        if not url:
            raise CliError(
                f"{spec.name}.{t.name} is not deployed on stage {target.stage}: "
                f"`make deploy STAGE={target.stage}` first, or pass --base-url"
            )
        return url

    return deployed


def hooks_of(target: Target, spec: IntegrationSpec, base_url: str | None = None) -> list[Hook]:
    """The integration's webhook triggers as :class:`Hook` s; a :class:`CliError` if it has none."""
    triggers = [t for t in spec.triggers if isinstance(t, WebhookTrigger)]
    if not triggers:
        with_hooks = sorted(
            s.name for s in load_specs() if any(isinstance(t, WebhookTrigger) for t in s.triggers)
        )
        raise CliError(
            f"{spec.name} has no webhook triggers, so nothing to register; these have: {', '.join(with_hooks)}"
        )
    url_of = _urls(target, spec, base_url)
    return [
        Hook(
            spec,
            t,
            Wanted(spec.name, t.name, url_of(t), t.events, label_for(target.stage, spec.name, t.name)),
            _module(t.secret.app),
        )
        for t in triggers
    ]


def sharing(hook: Hook) -> list[str]:
    """Other webhook triggers (``integration.trigger``) that verify with the same signing connection."""
    return sorted(
        f"{s.name}.{t.name}"
        for s in load_specs()
        for t in s.triggers
        if isinstance(t, WebhookTrigger)
        and t.secret.name == hook.trigger.secret.name
        and (s.name, t.name) != (hook.spec.name, hook.trigger.name)
    )
