"""``switchboard webhooks register|list|remove <integration>``: the subscriptions at the providers.

For each webhook trigger of the integration whose app has a subscription API (Square, Stripe,
Calendly, Cal.com: ``apps/<app>/subscriptions.py``), ``register`` makes the provider call the
deployment's URL for the trigger's event types, idempotently:

1. it lists the provider's subscriptions and reuses the one for the same URL (updating its event
   types, enabling it and naming it if needed), and never makes a second one;
2. otherwise it creates one;
3. the signing secret goes into the trigger's signing connection without a gap (the one it replaces
   stays valid as ``previous_secret``): stored *before* the provider uses it where we choose it
   (Calendly, Cal.com), right after the provider returns it where the provider does (Square, Stripe);
   a reused subscription keeps the stored secret unless it cannot be known to match (none stored, or
   Cal.com reports another) or ``--rotate`` asks for a new one;
4. Square's connection pins the registered URL (``notification_url``), which its signature covers;
5. Switchboard's subscriptions for the same stage and trigger at an older URL are deleted last.

The provider-API key comes from the registration connection's secret where a function uses it too
(Square's token), else - an operator-only key no stage keeps - from the environment
(``STRIPE_API_KEY``, ``CALENDLY_TOKEN``, ``CALCOM_API_KEY``) or a prompt in a terminal
(:func:`infra.ops.webhooks.store.credentials`).

For the other triggers (Tally, a HubSpot app's settings, a Standard Webhooks sender) it prints the
steps to take by hand. ``list`` reports each trigger's state at the provider and ``remove`` deletes
Switchboard's subscriptions of the integration (the current URL's, and those named for it).
:func:`status` is what ``list`` prints, as data (for a go-live check).
"""

from __future__ import annotations

import secrets as random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from infra.ops.target import CliError, OperationFailed, Target
from infra.ops.webhooks.plan import Hook, hooks_of, sharing, stage_flag
from infra.ops.webhooks.store import Ask, SigningStore, credentials, where_to_set
from shared.errors import RetryableError, TargetRejected
from shared.spec import IntegrationSpec
from shared.subscriptions import Remote, SubscriptionApi, Unsupported

if TYPE_CHECKING:
    import httpx

__all__ = ["TriggerStatus", "register", "remove", "show", "status"]


@dataclass(frozen=True)
class TriggerStatus:
    """One webhook trigger at its provider.

    ``state``: ``current`` (registered at this URL, enabled, for these events), ``events differ``,
    ``disabled``, ``old URL`` (only Switchboard's subscription at another URL), ``missing``,
    ``manual`` (no API: check in the provider's settings), ``no credentials``.
    """

    integration: str
    trigger: str
    provider: str
    url: str
    state: str
    detail: str = ""
    remotes: tuple[Remote, ...] = field(default=(), repr=False)

    @property
    def ok(self) -> bool:
        return self.state in ("current", "manual")


def _new_secret() -> str:
    return random.token_urlsafe(32)


@contextmanager
def _provider(
    hook: Hook, target: Target, transport: httpx.BaseTransport | None, ask: Ask | None = None
) -> Iterator[SubscriptionApi]:
    """The provider's API with the registration connection, its refusals as one-line errors."""
    conn, flag = hook.trigger.registration, stage_flag(target)
    if conn is None:  # pragma: no cover - only hooks with has_api get here
        raise CliError(f"{hook.name} declares no registration connection")
    api = hook.open(credentials(target, conn, flag, title=hook.app, ask=ask), transport)
    title = api.title
    try:
        yield api
    except TargetRejected as exc:
        if exc.status in (401, 403):
            raise CliError(
                f"{title} refused the {conn.name} connection's credentials ({exc.status}); give them again: "
                f"{where_to_set(conn, conn.fields, flag)}"
            ) from exc
        raise OperationFailed(f"{title} refused it: {exc.message}") from exc
    except RetryableError as exc:
        raise OperationFailed(f"{title} is unavailable, try again: {exc.message}") from exc
    finally:
        api.close()


def _ours(hook: Hook, remotes: Sequence[Remote]) -> tuple[list[Remote], list[Remote]]:
    """Subscriptions at the trigger's URL, and Switchboard's for this stage and trigger elsewhere."""
    here = [r for r in remotes if r.url == hook.wanted.url]
    elsewhere = [r for r in remotes if r.label and r.label == hook.wanted.label and r.url != hook.wanted.url]
    here.sort(key=lambda r: not r.enabled)  # an enabled one first
    return here, elsewhere


def _check_shared_signing(hook: Hook, api: SubscriptionApi) -> None:
    others = sharing(hook)
    if others and api.chooses_secret == "provider":
        raise CliError(
            f"{hook.trigger.secret.name} verifies {hook.name} and {', '.join(others)}, but {api.title} gives each "
            "subscription its own key: give each trigger its own signing connection"
        )


def _register_one(
    hook: Hook, api: SubscriptionApi, store: SigningStore, *, rotate: bool, out: TextIO
) -> bool:
    """Reconcile one trigger; returns whether a previous secret is kept now."""
    _check_shared_signing(hook, api)
    wanted, conn = hook.wanted, store.connection.name
    here, elsewhere = _ours(hook, api.list())
    stored = store.secret()
    kept_previous = False

    def put(secret: str) -> None:
        nonlocal kept_previous
        kept_previous = store.rotate_to(secret) or kept_previous

    if not here:
        if api.chooses_secret == "us":
            secret = stored if stored and not rotate else _new_secret()
            put(secret)  # stored first: the provider signs with it from its first delivery
            sub = api.create(wanted, secret)
        else:
            sub = api.create(wanted, None)
            if not sub.secret:
                raise OperationFailed(f"{api.title} created {sub.id} but returned no signing secret")
            put(sub.secret)
        out.write(f"  created {sub.id} for {', '.join(wanted.events)}\n")
        out.write(f"  signing secret stored in {conn}\n")
    else:
        sub = here[0]
        if len(here) > 1:
            others = ", ".join(r.id for r in here[1:])
            out.write(
                f"  note: {api.title} has {len(here) - 1} more subscription(s) for this URL ({others}); left alone\n"
            )
        recreated = False
        needs_update = not sub.serves(wanted) or not sub.enabled or (api.labels and sub.label != wanted.label)
        if needs_update:
            try:
                sub = api.update(sub, wanted)
                out.write(f"  updated {sub.id}: enabled, for {', '.join(wanted.events)}\n")
            except Unsupported:
                secret = stored if stored and not rotate else _new_secret()
                put(secret)
                old, sub = sub, api.rotate(sub, wanted, secret)
                recreated = True  # with the secret just stored
                out.write(
                    f"  replaced {old.id} by {sub.id} for {', '.join(wanted.events)} ({api.title} cannot change one)\n"
                )
        else:
            out.write(f"  found {sub.id}, already for {', '.join(wanted.events)}\n")
        unknown = not api.reports_secret and not stored
        if recreated:
            out.write(f"  its signing secret is stored in {conn}\n")
        elif rotate or unknown or (api.reports_secret and not sub.secret):
            ours = _new_secret() if api.chooses_secret == "us" else None
            if ours is not None:
                put(ours)  # stored first, as for a create
            replaced = api.rotate(sub, wanted, ours)
            if ours is None:
                if not replaced.secret:
                    raise OperationFailed(f"{api.title} rotated {sub.id} but returned no signing secret")
                put(replaced.secret)
            if replaced.id != sub.id:
                api.delete(sub)  # after the new secret is stored: both verify meanwhile
            sub = replaced
            out.write(f"  new signing secret for {sub.id}, stored in {conn}\n")
        elif api.reports_secret and sub.secret and sub.secret != stored:
            put(sub.secret)
            out.write(
                f"  {api.title} signs with a secret other than the stored one: stored its secret in {conn}\n"
            )
        else:
            out.write(f"  the signing secret stored in {conn} is kept (--rotate for a new one)\n")
    if store.pin(wanted.url):
        out.write(f"  notification URL pinned in {conn} ({api.title} signs it)\n")
    for old in elsewhere:
        api.delete(old)
        out.write(f"  deleted {old.id}, Switchboard's subscription at an older URL ({old.url})\n")
    return kept_previous


def register(
    target: Target,
    spec: IntegrationSpec,
    out: TextIO,
    *,
    base_url: str | None = None,
    rotate: bool = False,
    transport: httpx.BaseTransport | None = None,
    ask: Ask | None = None,
) -> None:
    """Register each webhook trigger of ``spec`` (see the module docstring); ``ask`` prompts for an
    operator-only provider key the environment does not hold (a terminal's ``getpass``)."""
    flag = stage_flag(target)
    kept: list[str] = []
    for hook in hooks_of(target, spec, base_url):
        if not hook.has_api:
            out.write(
                f"{hook.name}: {hook.app} has no API for webhook subscriptions; set it up once, by hand:\n"
            )
            for n, step in enumerate(hook.manual(flag), 1):
                out.write(f"  {step}\n" if step.startswith("  ") else f"  {n}. {step}\n")
            continue
        store = SigningStore(target, hook.trigger.secret)
        with _provider(hook, target, transport, ask) as api:
            out.write(f"{hook.name}: {api.title} -> {hook.wanted.url}\n")
            if _register_one(hook, api, store, rotate=rotate, out=out):
                kept.append(hook.trigger.secret.name)
    for conn in kept:
        out.write(
            f"The replaced secret stays valid as {conn}.previous_secret while the provider switches; once "
            f"deliveries signed with it are over (a day), drop it: switchboard secrets set {conn} previous_secret={flag}\n"
        )


def status(
    target: Target,
    spec: IntegrationSpec,
    *,
    base_url: str | None = None,
    transport: httpx.BaseTransport | None = None,
    ask: Ask | None = None,
) -> list[TriggerStatus]:
    """Each webhook trigger's state at its provider (see :class:`TriggerStatus`); without ``ask`` (the
    doctor, the console) a provider key that is not at hand is the state ``no credentials``."""
    found: list[TriggerStatus] = []
    for hook in hooks_of(target, spec, base_url):
        base = (hook.spec.name, hook.trigger.name)
        if not hook.has_api:
            detail = f"no API: `switchboard webhooks register {spec.name}` prints the steps"
            found.append(TriggerStatus(*base, hook.app, hook.wanted.url, "manual", detail))
            continue
        try:
            with _provider(hook, target, transport, ask) as api:
                here, elsewhere = _ours(hook, api.list())
                title = api.title
        except CliError as exc:
            if "needs the" not in str(exc):
                raise
            found.append(TriggerStatus(*base, hook.app, hook.wanted.url, "no credentials", str(exc)))
            continue
        if here:
            sub = here[0]
            state = (
                "disabled"
                if not sub.enabled
                else "events differ"
                if not sub.serves(hook.wanted)
                else "current"
            )
            found.append(TriggerStatus(*base, title, hook.wanted.url, state, sub.id, tuple(here + elsewhere)))
        elif elsewhere:
            detail = f"points at {elsewhere[0].url}"
            found.append(TriggerStatus(*base, title, hook.wanted.url, "old URL", detail, tuple(elsewhere)))
        else:
            found.append(TriggerStatus(*base, title, hook.wanted.url, "missing"))
    return found


def show(
    target: Target,
    spec: IntegrationSpec,
    out: TextIO,
    *,
    base_url: str | None = None,
    transport: httpx.BaseTransport | None = None,
    ask: Ask | None = None,
) -> list[TriggerStatus]:
    rows = status(target, spec, base_url=base_url, transport=transport, ask=ask)
    width = max(len(f"{r.integration}.{r.trigger}") for r in rows)
    out.write(f"{'TRIGGER':<{width}}  {'PROVIDER':<10} {'STATE':<14} {'ENABLED':<7}  URL / EVENTS\n")
    for r in rows:
        name = f"{r.integration}.{r.trigger}"
        if not r.remotes:
            out.write(f"{name:<{width}}  {r.provider:<10} {r.state:<14} {'-':<7}  {r.url}\n")
            if r.detail:
                out.write(f"{'':<{width}}  {r.detail}\n")
            continue
        for sub in r.remotes:
            enabled = "yes" if sub.enabled else "no"
            mark = "" if sub.url == r.url else "   <- not the current URL"
            out.write(f"{name:<{width}}  {r.provider:<10} {r.state:<14} {enabled:<7}  {sub.url}{mark}\n")
            out.write(f"{'':<{width}}  {sub.id}  {', '.join(sub.events)}\n")
    if not all(r.ok for r in rows):
        out.write(f"Fix: switchboard webhooks register {spec.name}{stage_flag(target)}\n")
    return rows


def remove(
    target: Target,
    spec: IntegrationSpec,
    out: TextIO,
    *,
    base_url: str | None = None,
    transport: httpx.BaseTransport | None = None,
    ask: Ask | None = None,
) -> int:
    """Delete Switchboard's subscriptions of the integration; returns how many."""
    deleted = 0
    for hook in hooks_of(target, spec, base_url):
        if not hook.has_api:
            out.write(
                f"{hook.name}: {hook.app} has no API; delete the webhook to {hook.wanted.url} in its settings by hand\n"
            )
            continue
        with _provider(hook, target, transport, ask) as api:
            here, elsewhere = _ours(hook, api.list())
            for sub in here + elsewhere:
                api.delete(sub)
                deleted += 1
                out.write(f"{hook.name}: deleted {sub.id} at {api.title} ({sub.url})\n")
            if not here and not elsewhere:
                out.write(f"{hook.name}: nothing registered at {api.title}\n")
    return deleted
