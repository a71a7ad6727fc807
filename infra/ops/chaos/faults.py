"""Which faults each stand-in serves during a run, and setting them (or clearing all but poison)."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from typing import Any

from infra.ops.chaos.config import CLIENT_TIMEOUT_S, LATE_BY_S, POISON_MARK, ChaosConfig
from infra.ops.chaos.outage import OUTAGE_FAULT
from infra.ops.chaos.protocol import AppChaos
from infra.ops.chaos.state import ChaosRun

__all__ = ["sandbox_faults", "set_faults"]


def sandbox_faults(config: ChaosConfig, app: str, hooks: AppChaos | None = None) -> list[dict[str, Any]]:
    """The rate faults one sandbox app gets: poison first (rate 1, by body marker), then the rest."""
    hooks = hooks or AppChaos()
    poison = dict(hooks.poison_body) if hooks.poison_body is not None else None
    faults: list[dict[str, Any]] = [
        {"kind": "status", "status": 400, "rate": 1, "body_contains": POISON_MARK, "body": poison}
    ]
    if config.applies("5xx", app):
        faults.append({"kind": "status", "status": 503, "rate": config.rate("5xx")})
    if config.applies("429", app):
        faults.append({"kind": "rate_limit", "retry_after": 1, "rate": config.rate("429")})
    # Late answers and crashes on an OAuth app's API only, if the token endpoint is to be spared.
    api_only = {"path": hooks.api_path} if hooks.api_path and not config.token_endpoint_faults else {}
    if config.applies("timeout", app):
        delay = CLIENT_TIMEOUT_S + LATE_BY_S
        faults.append(
            {
                "kind": "slow",
                "delay_s": delay,
                "serve_first": True,
                "rate": config.rate("timeout"),
                **api_only,
            }
        )
    if config.applies("crash", app):
        faults.append({"kind": "crash", "rate": config.rate("crash"), **api_only})
    return faults


def set_faults(
    run: ChaosRun,
    hooks: Mapping[str, AppChaos],
    *,
    poison_only: bool,
    down: Collection[str] = (),
    apps: Collection[str] | None = None,
    reseed: bool = True,
) -> None:
    """Replace the faults of every stand-in (or of ``apps``): poison always; the run's rate faults
    unless ``poison_only``; a 503 for every request to the apps in ``down`` (an outage: after poison,
    so that poison is still refused for good, before the rest)."""
    for app, sandbox in run.runtime.sandboxes.items():
        if apps is not None and app not in apps:
            continue
        base = f"{run.runtime.url}/_sandbox/{app}/_faults"
        run.http.delete(base).raise_for_status()
        faults = sandbox_faults(run.config, app, hooks.get(app))
        # Poison the events the factories set up for this app (a path fault: a request without a body).
        extra = run.poison_faults(app)
        outage = [dict(OUTAGE_FAULT)] if app in down else []
        faults = [faults[0], *extra, *outage, *faults[1:]]
        if poison_only:
            faults = faults[: 1 + len(extra) + len(outage)]
        elif reseed:
            # A seed of its own per app: the same seed everywhere would give every app the same
            # sequence of draws (the same requests failing in each), and a seed whose first draws
            # miss a fault's band would starve that fault in every app at once.
            sandbox.reseed(
                int.from_bytes(hashlib.sha256(f"{run.config.seed}:{app}".encode()).digest()[:8], "big")
            )
        run.http.post(base, json=faults).raise_for_status()
