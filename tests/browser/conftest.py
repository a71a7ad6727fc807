"""The browser tests' world: one local runtime and one console per module, and Debian's Chromium.

Playwright drives the ``chromium`` package (``/usr/bin/chromium``); it never downloads a browser of
its own (this project's machines reach package registries only). Without Chromium the tests are
skipped with a message saying how to get it - except where they must run: on CI (``CI=true``) or with
``SWITCHBOARD_REQUIRE_BROWSER=1`` (which ``.ci/run`` exports), a missing browser fails them.

One runtime per module: starting it takes seconds, and every test here works on events of its own
(its own email address, its own event id), so they share it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from infra.console.server import ConsoleServer
from infra.local.runtime import LocalRuntime
from infra.ops.target import Target, resolve

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

#: Where Debian's package puts it; ``SWITCHBOARD_CHROMIUM`` names another binary.
DEBIAN_CHROMIUM = "/usr/bin/chromium"
#: As the machine's probe starts it: as root there is no sandbox, and no call home on a closed network.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
HOW_TO_ENABLE = (
    "no Chromium for the browser tests: install Debian's package (`apt-get install chromium`) or set "
    "SWITCHBOARD_CHROMIUM to a Chromium binary; Playwright's own browser downloads are not used"
)
NO_PLAYWRIGHT = "playwright is not installed: `make env` installs the pinned dev extra (pyproject.toml)"


def chromium_path(
    env: Mapping[str, str], which: Any = shutil.which, debian: str = DEBIAN_CHROMIUM
) -> str | None:
    """The Chromium binary to drive, or None when this machine has none."""
    named = env.get("SWITCHBOARD_CHROMIUM")
    if named:
        return named if os.access(named, os.X_OK) else None
    found = which("chromium")
    if found:
        return str(found)
    return debian if os.access(debian, os.X_OK) else None


def browser_required(env: Mapping[str, str]) -> bool:
    """On CI (or when asked), a missing browser is a failure, never a skip."""
    return env.get("CI", "").lower() == "true" or env.get("SWITCHBOARD_REQUIRE_BROWSER") == "1"


def no_browser(reason: str, env: Mapping[str, str], *, module: bool = False) -> NoReturn:
    """Skip - or, where the browser tests must run, fail - naming what to install.

    ``module``: called while a test module is imported (Playwright missing), not from a fixture.
    """
    if browser_required(env):
        pytest.fail(f"{reason} (CI / SWITCHBOARD_REQUIRE_BROWSER=1: the browser tests may not be skipped)")
    pytest.skip(reason, allow_module_level=module)


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Playwright]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        no_browser(NO_PLAYWRIGHT, os.environ)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    path = chromium_path(os.environ)
    if path is None:
        no_browser(HOW_TO_ENABLE, os.environ)
    launched = playwright_driver.chromium.launch(
        executable_path=path, headless=True, args=list(CHROMIUM_ARGS)
    )
    try:
        yield launched
    finally:
        launched.close()


@dataclass
class Stack:
    """A running local runtime, the operations target over it, and a console on that target."""

    runtime: LocalRuntime
    target: Target
    console: ConsoleServer
    root: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, browser: Browser) -> Iterator[Stack]:
    """Started only once a browser is there (a skipped module starts nothing)."""
    root = tmp_path_factory.mktemp("browser")
    state_file = root / ".switchboard" / "local.json"
    runtime = LocalRuntime(
        port=0, retry_scale=0.02, log_dir=str(root / ".switchboard" / "logs"), state_file=state_file
    )
    with pytest.MonkeyPatch.context() as patch:
        # The runtime records itself for the user (infra/local/locate.py): here, in this module's folder.
        patch.setenv("SWITCHBOARD_STATE_DIR", str(root / "user-state"))
        with runtime:
            target = resolve(None, state_file=state_file)
            with ConsoleServer(target, port=0) as console:
                yield Stack(runtime, target, console, root)
    assert runtime.errors == [], runtime.errors


@pytest.fixture
def runtime_environment(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's environment points at this module's runtime again.

    The root conftest gives every test a clean environment (no ``AWS_ENDPOINT_URL``, no cached
    clients); the module's runtime, started before it, needs the endpoint it set at start.
    """
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack.runtime.aws_endpoint)
    monkeypatch.setenv("AWS_REGION", stack.runtime.region)
    monkeypatch.setenv("AWS_DEFAULT_REGION", stack.runtime.region)
    monkeypatch.setenv("SWITCHBOARD_LOG_DIR", str(stack.root / ".switchboard" / "logs"))
    monkeypatch.setenv("SWITCHBOARD_STATE_DIR", str(stack.root / "user-state"))


@pytest.fixture
def page(browser: Browser, stack: Stack, runtime_environment: None) -> Iterator[Page]:
    """A fresh browser context that opened the console's URL once: it holds the session cookie."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    opened = context.new_page()
    answer = opened.goto(stack.console.login_url)
    assert answer is not None and answer.ok, answer and answer.status
    assert "token=" not in opened.url  # exchanged for the cookie, gone from the address bar
    try:
        yield opened
    finally:
        context.close()
