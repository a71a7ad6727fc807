"""The chaos harness finds what integrations and apps bring without a list, and signs as providers do.

A generator added in a new integration folder, or an app's hooks added in a new app package, is
picked up by discovery alone; nothing in ``infra/ops/chaos/`` is edited.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import apps
from infra.local.delivery import signed_request
from infra.ops.chaos import FACTORIES, ChaosConfig, Planned, parse_faults
from infra.ops.chaos.config import POISON_MARK
from infra.ops.chaos.discovery import (
    app_hooks,
    check_kinds,
    factories,
    factory,
    integration_observers,
    observers,
    sequences,
)
from infra.ops.chaos.faults import sandbox_faults
from shared.errors import SignatureError
from shared.registry import load_spec
from shared.webhooks.base import WebhookRequest

GENERATOR = """
from infra.ops.chaos.protocol import EventFactory, Outgoing

def build(run, p):
    return Outgoing(f"evt-{p.key}", b"{}")

def effects(p):
    return [("fake.effect", p.key)]

def seen(run):
    return {}

FACTORIES = (EventFactory(INTEGRATION, "webhook", weight=1.0, build=build, effects=effects),)
OBSERVERS = (seen,)
"""


def _package(root: Path, *parts: str) -> Path:
    folder = root.joinpath(*parts)
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    return folder


@pytest.fixture
def functions_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A functions package of its own on ``sys.path``, forgotten again afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    folder = _package(tmp_path, "chaos_probe_functions")
    yield folder
    for name in [m for m in sys.modules if m.startswith("chaos_probe_functions")]:
        del sys.modules[name]


def test_the_repository_generators_and_hooks_are_found() -> None:
    found = {(f.integration, f.trigger) for f in factories()}
    assert {
        ("website_to_crm", "webhook"),
        ("new_lead_notify", "hubspot"),
        ("pos_to_accounting", "square"),
        ("pos_to_accounting", "stripe"),
        ("pos_to_accounting", "shopify"),
        ("booking_to_calendar", "calendly"),
        ("booking_to_calendar", "calcom"),
    } <= found
    assert set(FACTORIES) == found  # the package's FACTORIES is the same discovery
    assert factory("website_to_crm", "webhook").weight == 3.0
    hooks = app_hooks()
    assert {"hubspot", "slack", "quickbooks", "google_calendar"} <= set(hooks)
    assert hooks["quickbooks"].api_path and hooks["google_calendar"].api_path
    assert {"new_lead_notify", "booking_to_calendar"} <= set(integration_observers())
    assert len(observers()) >= 6


def test_checks_are_named_by_their_apps_and_every_one_is_expected_by_some_event() -> None:
    """The kinds that can only pass or fail once per event are declared where they are observed, and
    each is one an event factory expects (a check nobody expects would never be judged)."""
    checks = check_kinds()
    assert checks == {
        "hubspot.qualified",
        "hubspot.latest",
        "qb.total",
        "xero.total",
        "gcal.at_time",
        "gcal.deleted",
        "gcal.final",
    }
    # Factories made for each choice a deployment can make: pos_to_accounting books in QuickBooks or
    # Xero (accounting_app), and expects the effects of the books chosen.
    made = [*factories(), *sequences()]
    made += [f.configure({"accounting_app": "xero"}) for f in made if f.configure is not None]
    expected_kinds = {
        kind for f in made for i in range(40) for kind, _ in f.effects(Planned(i, 1, f, poison=False))
    }
    assert checks <= expected_kinds
    assert {
        "hubspot.contact",
        "hubspot.note",
        "slack.message",
        "qb.sales_receipt",
        "xero.invoice",
        "xero.credit_note",
        "gcal.event",
    } <= (expected_kinds - checks)


def test_a_generator_in_a_new_integration_folder_is_found_without_a_list(functions_dir: Path) -> None:
    (_package(functions_dir, "fake_integration") / "chaos.py").write_text(
        GENERATOR.replace("INTEGRATION", repr("fake_integration"))
    )
    _package(functions_dir, "no_generator")  # an integration without chaos.py brings nothing

    [made] = factories(functions_dir)
    assert (made.integration, made.trigger, made.weight) == ("fake_integration", "webhook", 1.0)
    assert factory("fake_integration", "webhook", functions_dir) is made
    assert list(integration_observers(functions_dir)) == ["fake_integration"]
    with pytest.raises(LookupError, match="no factory for trigger 'form'"):
        factory("fake_integration", "form", functions_dir)


def test_a_generator_must_live_in_its_own_integration_folder(functions_dir: Path) -> None:
    (_package(functions_dir, "one") / "chaos.py").write_text(
        GENERATOR.replace("INTEGRATION", repr("another"))
    )
    with pytest.raises(ValueError, match="their own integration's folder"):
        factories(functions_dir)


def test_factories_must_be_a_tuple_of_event_factories(functions_dir: Path) -> None:
    (_package(functions_dir, "bad") / "chaos.py").write_text("FACTORIES = [1, 2]\n")
    with pytest.raises(TypeError, match=r"bad\.chaos\.FACTORIES must be a tuple of EventFactory"):
        factories(functions_dir)


def test_an_app_with_hooks_is_found_and_its_faults_use_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _package(tmp_path, "chaos_probe_app")
    (folder / "chaos.py").write_text(
        "from infra.ops.chaos.protocol import AppChaos\n"
        "CHAOS = AppChaos(poison_body={'error': 'nope'}, api_path='/api/v9/')\n"
    )
    monkeypatch.setattr(apps, "__path__", [*apps.__path__, str(tmp_path)])
    try:
        hooks = app_hooks()
    finally:
        for name in [m for m in sys.modules if m.startswith("apps.chaos_probe_app")]:
            del sys.modules[name]
    assert hooks["chaos_probe_app"].poison_body == {"error": "nope"}

    config = ChaosConfig(events=1, seed=1, faults=parse_faults("5xx=0.1,timeout=0.1,crash=0.1"))
    poison, *rest = sandbox_faults(config, "chaos_probe_app", hooks["chaos_probe_app"])
    assert poison == {
        "kind": "status",
        "status": 400,
        "rate": 1,
        "body_contains": POISON_MARK,
        "body": {"error": "nope"},
    }
    assert [f["kind"] for f in rest] == ["status", "slow", "crash"]
    assert [f.get("path") for f in rest] == [None, "/api/v9/", "/api/v9/"]
    # Asked for token-endpoint faults, late answers and crashes reach the whole app.
    config = ChaosConfig(events=1, seed=1, faults=config.faults, token_endpoint_faults=True)
    assert all("path" not in f for f in sandbox_faults(config, "chaos_probe_app", hooks["chaos_probe_app"]))


def test_an_app_without_hooks_gets_an_empty_poison_body() -> None:
    [poison] = sandbox_faults(ChaosConfig(events=1, seed=1, faults={}), "peopledatalabs")
    assert poison["body"] is None and poison["body_contains"] == POISON_MARK


def test_a_signed_delivery_passes_the_triggers_own_check() -> None:
    trigger = load_spec("website_to_crm").trigger("webhook")
    secret = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"
    request = signed_request(
        trigger, "http://127.0.0.1:9/", b'{"a": 1}', secret, headers={"x-extra": "1"}, msg_id="msg_1", now=1e9
    )
    assert request.url == "http://127.0.0.1:9" + trigger.path
    assert request.headers["content-type"] == "application/json" and request.headers["x-extra"] == "1"
    url, headers, body = request  # unpacks like the (url, headers, body) it replaced
    trigger.verifier.verify(WebhookRequest("POST", url, headers, body), [secret], now=1e9)
    with pytest.raises(SignatureError):
        trigger.verifier.verify(WebhookRequest("POST", url, headers, body + b" "), [secret], now=1e9)
