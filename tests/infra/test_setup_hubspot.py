"""`switchboard setup hubspot` against the local runtime: creates what the portal lacks, then nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from apps.hubspot.properties import CUSTOM_PROPERTIES
from apps.hubspot.standin import HubSpotSandbox
from infra.local.runtime import LocalRuntime
from tests.support import cli

pytestmark = pytest.mark.e2e


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LocalRuntime]:
    state = tmp_path / ".switchboard" / "local.json"
    with LocalRuntime(port=0, pollers=False, log_dir=None, state_file=state) as rt:
        # A portal as a business has it before set-up: HubSpot's default properties only.
        rt.sandboxes["hubspot"] = HubSpotSandbox(custom_properties=())
        yield rt


def _property_names(rt: LocalRuntime) -> set[str]:
    answer = httpx.get(
        f"{rt.url}/_sandbox/hubspot/crm/v3/properties/contacts",
        headers={"authorization": "Bearer sandbox-hubspot-token"},
        timeout=5,
    )
    answer.raise_for_status()
    return {p["name"] for p in answer.json()["results"]}


def test_setup_creates_the_missing_properties_once(runtime: LocalRuntime, tmp_path: Path) -> None:
    wanted = {d["name"] for d in CUSTOM_PROPERTIES}
    assert not wanted & _property_names(runtime)

    first = cli(tmp_path, "setup", "hubspot")
    assert first.returncode == 0, first.stderr
    assert f"{len(wanted)} created, 0 already there" in first.stdout
    assert wanted <= _property_names(runtime)

    again = cli(tmp_path, "setup", "hubspot")
    assert again.returncode == 0, again.stderr
    assert f"0 created, {len(wanted)} already there" in again.stdout


def test_a_wrong_token_is_a_clear_error(runtime: LocalRuntime, tmp_path: Path) -> None:
    done = cli(tmp_path, "secrets", "set", "hubspot", "token=pat-na1-wrong-token-0000")
    assert done.returncode == 0, done.stderr
    failed = cli(tmp_path, "setup", "hubspot")
    assert failed.returncode == 2
    assert "switchboard: HubSpot refused (the token is wrong or revoked)" in failed.stderr
    assert "pat-na1-wrong" not in failed.stderr + failed.stdout
