"""docs/quickstart.md, followed literally from a fresh clone: every command block, in order, as written.

The page's ``<!-- quickstart: NAME -->`` markers name its command blocks. This test clones the
repository's committed HEAD (what a newcomer gets), runs ``make dev`` in the background exactly as the
page says (the Makefile sets up ``.venv`` and ``node_modules`` itself), and runs every other block
with ``bash`` in the clone. Two things are filled in, as a reader would: the clone URL (this
repository, not GitHub: the test is offline) and ``<event-id>`` (the id the latest ``send`` printed).
The blocks after ``make dev`` are one terminal: what a block does to its shell (``source``, ``cd``,
``export``) holds for the blocks after it. Blocks that only read (a trace, a list, a stand-in's state)
are run again until their answer is there, as a reader would look again a moment later; blocks that
change something run once.

It is among the slowest tests of the suite (a real ``pip install`` of what ``make dev`` needs into a new
``.venv``: the runtime and the ``local`` extra, not the CDK or the test tools); it prints the time
from the clone to the first traced event, the figure the first-hour issue asked for.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.local.console import PLAIN_WIDTH
from tests.support import REPO

pytestmark = pytest.mark.e2e

DOC = REPO / "docs" / "quickstart.md"
CLONE_URL = "https://github.com/switchboard-dev/switchboard.git"
_BLOCK = re.compile(r"<!-- quickstart: (?P<name>[^>]+?) -->\n```sh\n(?P<script>.*?)```", re.S)
_MARKER = re.compile(r"<!-- quickstart: ")
#: Every fenced block of the page, whatever its language or indentation.
_FENCED = re.compile(r"^[ \t]*(?P<fence>```|~~~)[^\n]*\n.*?^[ \t]*(?P=fence)[ \t]*$", re.M | re.S)
_SENT_ID = re.compile(r"Follow it: switchboard trace (\S+)")
SERVING = "Serving the webhook URLs above"
#: What each read-only block must show before the next block runs ({id}: the latest event id).
EXPECT = {
    "trace the lead": "website_to_crm: processed",
    "see the contact": "ada@lovelace.example",
    "dead letter": "{id}",
    "trace the replay": "website_to_crm: processed",
    "still one contact": "ada@lovelace.example",
}
SETUP_TIMEOUT_S = 900  # a fresh .venv (pip) and node_modules (npm), then the sample replay
READ_TIMEOUT_S = 90


@dataclass(frozen=True)
class Block:
    name: str
    script: str


def blocks() -> list[Block]:
    return [Block(m["name"], m["script"]) for m in _BLOCK.finditer(DOC.read_text())]


def test_the_page_has_every_step_the_test_relies_on() -> None:
    page = DOC.read_text()
    names = [b.name for b in blocks()]
    # Every command block is marked and run: one without a marker (or a marker not on a ```sh block)
    # would be a command on the page that the test never runs.
    assert len(_FENCED.findall(page)) == len(_MARKER.findall(page)) == len(names)
    assert names[:2] == ["clone", "serve"]
    assert blocks()[1].script.strip() == "make dev"
    assert set(EXPECT) <= set(names)
    assert CLONE_URL in blocks()[0].script


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    if not (REPO / ".git").exists():
        pytest.fail("the quick start clones this repository: run the tests from a git clone")
    return tmp_path


def run(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def served(workdir: Path) -> Iterator[tuple[Path, dict[str, str], subprocess.Popen[str], float]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "VIRTUAL_ENV", "PYTEST"))}
    # The clone's own state stays in the clone; a per-user record of runtimes goes to the test's folder.
    env |= {"PORT": str(_free_port()), "SWITCHBOARD_STATE_DIR": str(workdir / "user-state")}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if ".venv" not in p)
    clone, serve = blocks()[:2]
    started = time.monotonic()
    # Named as on GitHub, so that `git clone` picks the folder name the page's `cd` expects.
    origin = workdir / "origin" / "switchboard.git"
    origin.parent.mkdir()
    origin.symlink_to(REPO)
    cloned = run(clone.script.replace(CLONE_URL, str(origin)), workdir, env)
    assert cloned.returncode == 0, cloned.stderr
    checkout = workdir / "switchboard"
    log = (workdir / "make-dev.log").open("w")
    dev = subprocess.Popen(
        ["bash", "-c", serve.script],
        cwd=checkout,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + SETUP_TIMEOUT_S
        while SERVING not in (workdir / "make-dev.log").read_text():
            assert dev.poll() is None, (workdir / "make-dev.log").read_text()[-4000:]
            assert time.monotonic() < deadline, "make dev did not start serving in time"
            time.sleep(1)
        yield checkout, env, dev, started
    finally:
        os.killpg(dev.pid, signal.SIGINT)
        try:
            dev.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(dev.pid, signal.SIGKILL)
            dev.wait()
        log.close()


def test_the_quick_start_as_written(
    served: tuple[Path, dict[str, str], subprocess.Popen[str], float], workdir: Path
) -> None:
    checkout, env, dev, started = served
    event_id = ""
    first_trace_s: float | None = None
    # The second terminal: what a block did to its shell (source, cd, export) holds for the next ones.
    shell_state: list[str] = []
    for block in blocks()[2:]:
        script = block.script.replace("<event-id>", event_id)
        lines = script.splitlines()
        script = "\n".join([*shell_state, *lines]) + "\n"
        shell_state += [ln for ln in lines if ln.startswith(("source ", "cd ", "export "))]
        assert "<" not in script.replace("<<'JSON'", ""), f"{block.name}: unfilled placeholder in {script!r}"
        wanted = EXPECT.get(block.name, "").format(id=event_id)
        deadline = time.monotonic() + READ_TIMEOUT_S
        while True:
            done = run(script, checkout, env)
            said = done.stdout + done.stderr
            if done.returncode == 0 and wanted in said:
                break
            assert block.name in EXPECT and time.monotonic() < deadline, (
                f"quick start step {block.name!r} ({script!r}) answered {done.returncode}:\n{said}\n"
                f"make dev said:\n{(workdir / 'make-dev.log').read_text()[-3000:]}"
            )
            time.sleep(2)
        sent = _SENT_ID.findall(done.stdout)
        if sent:
            event_id = sent[-1]
        if block.name == "trace the lead" and first_trace_s is None:
            first_trace_s = time.monotonic() - started
        if block.name == "still one contact":
            contacts = json.loads(done.stdout)["contacts"]
            emails = [c["properties"].get("email") for c in contacts]
            assert emails.count("ada@lovelace.example") == 1, emails
    assert dev.poll() is None, "make dev stopped during the quick start"
    assert first_trace_s is not None
    replayed_every_sample_as_it_says((workdir / "make-dev.log").read_text(), checkout)
    print(f"\nquick start: clone to first traced event {first_trace_s:.0f} s")


def replayed_every_sample_as_it_says(said: str, checkout: Path) -> None:
    """``make dev`` replayed every sample of the clone, one aligned row each, and each ended as its
    file says (the only test of the whole replay: it runs in this fresh clone, not twice)."""
    samples = sorted((checkout / "events").glob("*/*.json"))
    lines = said.splitlines()
    assert f"all {len(samples)} samples ended as expected" in said, said[-3000:]
    printed = [line for line in lines if line.startswith("  ok ")]
    rows = [line.split() for line in printed]
    assert not [line for line in lines if line.startswith("  BAD ")], said[-3000:]
    assert sorted(f"{row[1]}/{row[2]}" for row in rows) == sorted(
        f"{p.parent.name}/{p.stem}" for p in samples
    )
    # As printed, padding and all: a log file gets lines of at most PLAIN_WIDTH (160) characters.
    assert max(len(line) for line in printed) <= PLAIN_WIDTH
    assert {row[-1] for row in rows} >= {"processed", "dlq", "rejected", "answered", "spam", "ignored"}
    queues = next(line for line in lines if line.startswith("queues "))
    assert "dead-letter queues hold" in queues and not set("{}[]") & set(queues)
