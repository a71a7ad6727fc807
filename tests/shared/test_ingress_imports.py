"""The ingress path loads an app's declaration and webhook payload models - never its API models,
client, actions, stand-in or chaos hooks, and not httpx.

A webhook's cold start is on the clock of the provider that sends it (Slack allows 3 s, most
providers 5-10 s, and a slow first answer is re-sent). Each integration's ingress runs here as Lambda
runs it: a fresh process, ``shared.entry.handler`` on a signed sample, SQS and Secrets Manager on a
moto server; then the process lists what it imported.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from benchmarks.cold_start import IngressChild, ingress_world
from tests.support import python_child

#: Modules of an app package that only the worker, the local runtime or the tests may load.
WORKER_ONLY = ("models", "client", "actions", "standin", "chaos")

_CHILD = (
    "import json, sys\n"
    "event = json.load(open(sys.argv[1]))\n"
    "from shared.entry import handler\n"
    "result = handler(event, None)\n"
    "assert result['statusCode'] == int(sys.argv[2]), result\n"
    "print(json.dumps(sorted(sys.modules)))\n"
)


def forbidden(modules: list[str]) -> list[str]:
    """The modules in ``modules`` that the ingress path must not load."""

    def worker_only(name: str) -> bool:
        parts = name.split(".")
        if parts[0] == "apps":
            return len(parts) >= 3 and parts[2] in WORKER_ONLY
        return parts[0] in ("httpx", "sandbox") or name == "shared.http"

    return [name for name in modules if worker_only(name)]


def _imported(child: IngressChild) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "event.json"
        path.write_text(json.dumps(child.make_event()))
        modules: list[str] = python_child(
            _CHILD, str(path), str(child.accepted), env=child.env, cwd=tmp, timeout=120
        )
    return modules


def test_no_webhook_ingress_loads_an_apps_worker_modules() -> None:
    with ingress_world(per_trigger=True) as world:
        integrations = {c.spec.name for c in world.children}
        assert len(integrations) >= 4 and len(world.children) >= 6, "a processed sample per webhook trigger"
        seen = {f"{c.spec.name} ({i})": _imported(c) for i, c in enumerate(world.children)}
    for name, modules in seen.items():
        assert any(m.startswith("apps.") for m in modules), f"{name}: the ingress verified with no app?"
        assert forbidden(modules) == [], f"{name}'s ingress imports worker-only modules"


@pytest.mark.parametrize(
    ("module", "bad"),
    [
        ("apps.square.client", True),
        ("apps.hubspot.models", True),
        ("apps.slack.actions", True),
        ("apps.stripe.standin", True),
        ("httpx._client", True),
        ("shared.http", True),
        ("apps.square", False),
        ("apps.square.webhooks", False),
        ("shared.ingress", False),
    ],
)
def test_the_check_tells_worker_modules_from_ingress_modules(module: str, bad: bool) -> None:
    assert (forbidden([module]) == [module]) is bad
