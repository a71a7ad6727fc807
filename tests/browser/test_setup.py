"""Where the browser tests run, skip or fail: never skipped on CI, skipped elsewhere with the fix named.

These need no browser: they check the decision the fixtures make when Chromium or Playwright is missing.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from tests.browser.conftest import HOW_TO_ENABLE, browser_required, chromium_path, no_browser


def test_without_chromium_the_tests_skip_saying_how_to_enable_them() -> None:
    with pytest.raises(pytest.skip.Exception, match=r"apt-get install chromium"):
        no_browser(HOW_TO_ENABLE, {})


@pytest.mark.parametrize("env", [{"CI": "true"}, {"CI": "TRUE"}, {"SWITCHBOARD_REQUIRE_BROWSER": "1"}])
def test_on_ci_a_missing_browser_fails_instead(env: dict[str, str]) -> None:
    assert browser_required(env)
    with pytest.raises(pytest.fail.Exception, match=r"apt-get install chromium.*may not be skipped"):
        no_browser(HOW_TO_ENABLE, env)


@pytest.mark.parametrize("env", [{}, {"CI": "false"}, {"SWITCHBOARD_REQUIRE_BROWSER": "0"}])
def test_a_developer_machine_may_skip(env: dict[str, str]) -> None:
    assert not browser_required(env)


def test_the_ci_script_requires_the_browser_and_installs_debians_chromium() -> None:
    script = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text()
    assert "export SWITCHBOARD_REQUIRE_BROWSER=1" in script
    assert "command -v chromium" in script and "apt-get install -y --no-install-recommends" in script
    # The version the browser tests ran with, and the archive's current one once Debian replaced it.
    assert 'apt_install "chromium=${CHROMIUM_VERSION}"' in script and "apt_install chromium\n" in script
    assert re.search(r'^CHROMIUM_VERSION="\d+\.[\d.]+-\S+"$', script, re.M)
    assert script.index("SWITCHBOARD_REQUIRE_BROWSER=1") < script.index("make test")


def test_chromium_is_found_by_name_on_the_path_or_where_debian_puts_it(tmp_path: Path) -> None:
    binary = tmp_path / "chromium"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    missing = str(tmp_path / "absent")
    assert chromium_path({}, which=lambda _: None, debian=missing) is None
    assert chromium_path({}, which=lambda _: None, debian=str(binary)) == str(binary)
    assert chromium_path({}, which=lambda _: "/opt/chromium", debian=missing) == "/opt/chromium"
    assert chromium_path({"SWITCHBOARD_CHROMIUM": str(binary)}, which=lambda _: None, debian=missing) == str(
        binary
    )
    assert chromium_path({"SWITCHBOARD_CHROMIUM": missing}, which=lambda _: "/usr/bin/chromium") is None
    assert os.access(binary, os.X_OK)
