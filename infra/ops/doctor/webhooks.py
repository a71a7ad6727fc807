"""Is every webhook registered at its provider, enabled, for the trigger's events, at the current URL.

The state comes from :func:`infra.ops.webhooks.status` (the providers' subscription APIs, through the
operator's registration connections), so the doctor and ``switchboard webhooks list`` never disagree.
Where the signature covers the URL and the connection pins it (Square's ``notification_url``), the
pinned URL must be the current one too, or every delivery is refused. Providers without an API
(Tally, a HubSpot app) cannot be asked: they are a warning that points at the steps.
"""

from __future__ import annotations

from infra.ops.doctor.core import Check, Context, Result
from infra.ops.target import CliError, OperationFailed
from infra.ops.webhooks import TriggerStatus, status
from infra.ops.webhooks.plan import hooks_of
from infra.ops.webhooks.store import SigningStore
from shared.spec import IntegrationSpec, WebhookTrigger
from shared.webhooks.signing import PINNED_URL_FIELD

__all__ = ["WEBHOOKS"]

_WHY = {
    "missing": "not registered at {provider}",
    "old URL": "registered at {provider}, but {detail}",
    "disabled": "registered at {provider} ({detail}), but disabled",
    "events differ": "registered at {provider} ({detail}), but not for all of {events}",
}


def _line(ctx: Context, spec: IntegrationSpec, row: TriggerStatus) -> Result:
    name = f"{row.integration}.{row.trigger}"
    register = f"switchboard webhooks register {spec.name}{ctx.flag}"
    if row.state == "current":
        return Result(
            "webhooks", "ok", f"{name}: registered at {row.provider} for the current URL ({row.detail})"
        )
    if row.state == "manual":
        return Result(
            "webhooks",
            "warn",
            f"{name}: {row.provider} has no subscription API; check its webhook settings point at {row.url}",
            register + " prints the steps",
        )
    if row.state == "no credentials":
        return Result("webhooks", "FAIL", f"{name}: cannot ask {row.provider}: {row.detail}", register)
    trigger = spec.trigger(row.trigger)
    events = ", ".join(trigger.events) if isinstance(trigger, WebhookTrigger) else ""
    why = _WHY.get(row.state, "{provider}: " + row.state).format(
        provider=row.provider, detail=row.detail, events=events
    )
    return Result("webhooks", "FAIL", f"{name}: {why}", register)


def _pinned(ctx: Context, spec: IntegrationSpec) -> list[Result]:
    """A pinned notification URL that is not the trigger's current URL refuses every delivery."""
    found = []
    for hook in hooks_of(ctx.target, spec):
        store = SigningStore(ctx.target, hook.trigger.secret)
        if not hook.has_api or not store.pins_url:
            continue
        pinned = str(store.read().get(PINNED_URL_FIELD) or "")
        if pinned and pinned != hook.wanted.url:
            found.append(
                Result(
                    "webhooks",
                    "FAIL",
                    f"{hook.name}: {hook.trigger.secret.name}.{PINNED_URL_FIELD} is {pinned}, not the current "
                    f"URL {hook.wanted.url}: signatures over the URL would not match",
                    f"switchboard webhooks register {spec.name}{ctx.flag}",
                )
            )
    return found


def check_webhooks(ctx: Context) -> list[Result]:
    specs = [s for s in ctx.specs if any(isinstance(t, WebhookTrigger) for t in s.triggers)]
    if not specs:
        return [Result("webhooks", "skip", "no integration has a webhook trigger")]
    results: list[Result] = []
    for spec in specs:
        try:
            rows = status(ctx.target, spec, transport=ctx.transport)
            results.extend(_line(ctx, spec, row) for row in rows)
            results.extend(_pinned(ctx, spec))
        except (CliError, OperationFailed) as exc:  # not deployed, refused credentials, provider down
            results.append(Result("webhooks", "FAIL", f"{spec.name}: {exc}"))
    return results


WEBHOOKS = Check("webhooks", "the webhook subscriptions at the providers", check_webhooks)
