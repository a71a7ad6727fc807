"""``make dev`` starts the console beside the gateway and prints its URL with the access token."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def test_switchboard_dev_serves_the_console_and_prints_its_url(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "dev", "--port", "0", "--no-replay", "--fresh"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None and proc.stderr is not None
        for _ in range(400):  # bounded: the banner comes within seconds
            line = proc.stdout.readline()
            lines.append(line)
            if "Ctrl-C to stop" in line or not line:
                break
        banner = "".join(lines)
        assert "Ctrl-C to stop" in banner, banner + proc.stderr.read()
        assert "Console (the link carries its access token)" in banner
        found = re.search(r"  (http://127\.0\.0\.1:(\d+)/)\?token=([A-Za-z0-9_-]{40,})\n", banner)
        assert found is not None, banner
        with httpx.Client(timeout=60) as client:
            assert client.get(found.group(1)).status_code == 401
            assert client.get(found.group(0).strip()).status_code == 303
            overview = client.get(found.group(1))
            assert overview.status_code == 200
            assert 'data-testid="overview-counts"' in overview.text and "the local runtime" in overview.text
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, out + err
    with pytest.raises(httpx.ConnectError):
        httpx.get(found.group(1), timeout=5)  # stopped with the runtime


def test_the_standalone_console_does_not_default_to_make_devs_console_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``make dev`` serves its console on the gateway's port + 1 (8788); ``switchboard console`` run
    beside it must not ask for the same port by default."""
    from infra.cli import GROUPS
    from infra.cli.core import build_parser

    monkeypatch.delenv("SWITCHBOARD_PORT", raising=False)
    parser = build_parser(GROUPS)
    gateway = parser.parse_args(["dev"]).port
    standalone = parser.parse_args(["console"]).port
    assert (gateway, standalone) == (8787, 8790)
    assert standalone not in (gateway, gateway + 1)
