"""Fixtures every test layer shares: a clean AWS world (moto, in-process) with the resources the
specs declare, a sandbox HubSpot reached through an httpx mock transport, and runtimes wired to both.

Nothing here reaches the internet: AWS is moto, SaaS APIs are the sandbox apps.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from moto import mock_aws

from apps.hubspot.standin import HubSpotSandbox
from infra.cli import main
from infra.local.emulation import make_dynamodb_atomic
from infra.local.resources import LocalResources, create_resources
from infra.local.runtime import LocalRuntime, local_settings
from sandbox.base import SandboxApp, transport_for
from sandbox.registry import create_sandboxes
from shared.registry import load_spec, load_specs
from shared.runtime import Runtime, reset_process_state

REGION = "us-east-1"
SANDBOX_URL = "http://sandbox.test/_sandbox"


@pytest.fixture(autouse=True)
def _isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """No test sees another's AWS endpoint, credentials or cached clients, nor the local runtimes
    recorded for the user outside this test session (``infra/local/locate.py``)."""
    saved = dict(os.environ)
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "SWITCHBOARD_LOG_DIR"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SWITCHBOARD_STATE_DIR", str(tmp_path_factory.getbasetemp() / "user-state"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    # The stand-ins' Slack history does not lag unless a test gives it one: no retried post waits for
    # it (apps/slack/actions.py; tests of the wait unset this).
    monkeypatch.setenv("SWITCHBOARD_SLACK_HISTORY_LAG_S", "0")
    # A read that failed is repeated within the call at once, not after a real pause
    # (tests/shared/test_http.py tests the pauses).
    monkeypatch.setattr("shared.http._FIRST_PAUSE_S", 0.0)
    reset_process_state()
    yield
    reset_process_state()
    os.environ.clear()
    os.environ.update(saved)


_LOADERS: dict[str | None, botocore.loaders.Loader] = {}


@pytest.fixture(autouse=True)
def _shared_botocore_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    """Speed only: every botocore session reuses one model loader (each service JSON parsed once).

    A fresh session per test re-reads the service models (~0.3 s a test); results are identical.
    """

    def cached(search_paths: str | None = None) -> botocore.loaders.Loader:
        loader = _LOADERS.get(search_paths)
        if loader is None:
            loader = _LOADERS[search_paths] = botocore.loaders.create_loader(search_paths)
        return loader

    monkeypatch.setattr(botocore.session, "create_loader", cached)


@pytest.fixture
def aws() -> Iterator[boto3.session.Session]:
    """moto, in-process, for the duration of one test; its DynamoDB writes atomic, as AWS's are."""
    make_dynamodb_atomic()
    with mock_aws():
        yield boto3.session.Session(region_name=REGION)


@pytest.fixture
def resources(aws: boto3.session.Session) -> LocalResources:
    """Queues, DLQs, table, bus, rules, secrets and SES identities for every spec, as locally."""
    settings = {spec.name: local_settings(spec) for spec in load_specs()}
    return create_resources(
        load_specs(), aws, stage="test", sandbox_url=SANDBOX_URL, visibility_scale=0.02, settings=settings
    )


@pytest.fixture
def sandboxes() -> dict[str, SandboxApp]:
    """One fresh instance of every sandbox app (``sandbox/registry.py``)."""
    return create_sandboxes()


@pytest.fixture
def hubspot(sandboxes: dict[str, SandboxApp]) -> HubSpotSandbox:
    app = sandboxes["hubspot"]
    assert isinstance(app, HubSpotSandbox)
    return app


@pytest.fixture
def make_runtime(resources: LocalResources, sandboxes: dict[str, SandboxApp]) -> Any:
    """``make_runtime(name, **overrides)``: a Runtime on moto whose HTTP goes to the sandbox apps."""

    def make(name: str, **overrides: Any) -> Runtime:
        spec = load_spec(name)
        queue_url, dlq_url = resources.queue_urls(name)
        fields: dict[str, Any] = {
            "spec": spec,
            "stage": resources.stage,
            "queue_url": queue_url,
            "dlq_url": dlq_url,
            "table": resources.table,
            "bus": resources.bus,
            "secret_prefix": resources.secret_prefix,
            "settings_json": local_settings(spec),
            "secret_max_age_s": 0,
            "http_transport": transport_for(sandboxes),
        }
        fields.update(overrides)
        return Runtime(**fields)

    return make


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LocalRuntime]:
    """A local runtime (moto, stand-ins, gateway, pollers) whose state file is in ``tmp_path``, as
    ``make dev``'s is in the checkout: the CLI run from ``tmp_path`` finds it. A test module that
    needs another runtime (no pollers, other settings) declares its own ``runtime``."""
    rt = LocalRuntime(
        port=0,
        retry_scale=0.02,
        log_dir=str(tmp_path / ".switchboard" / "logs"),
        state_file=tmp_path / ".switchboard" / "local.json",
    )
    with rt:
        yield rt
    assert rt.errors == [], rt.errors


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """``cli("webhooks", "list", ...)``: ``switchboard ...`` in-process, from ``tmp_path`` (where the
    runtime's state file is), answering what a shell would see (exit status, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, out, err)

    return run
