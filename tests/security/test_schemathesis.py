"""Schemathesis over the OpenAPI document the local gateway serves: no 5xx, answers as documented.

Bounded (a fixed number of examples, a fixed seed) so it is a regression test, not a lottery. The
generated requests carry no valid signature, so most stop at the signature or origin check - which
is the point for the ingress path: whatever arrives, the answer is a documented 4xx, never a 5xx.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local.runtime import LocalRuntime

pytestmark = pytest.mark.e2e


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LocalRuntime]:
    with LocalRuntime(port=0, pollers=False, log_dir=str(tmp_path / "logs"), state_file=None) as rt:
        yield rt


def test_every_route_answers_as_documented(runtime: LocalRuntime) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{runtime.url}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            "15",
            "--seed",
            "20261121",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "passed" in done.stdout
