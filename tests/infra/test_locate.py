"""Finding the running local runtime from any folder (``infra/local/locate.py``, ``infra/ops/target.py``).

Records are written as the runtime writes them; "live" is this test process with two listening
sockets (the gateway and moto endpoints), "gone" is the pid of a child that has exited.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.local import locate
from infra.ops.target import CliError, local_state, resolve


@pytest.fixture(autouse=True)
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "user-state"
    monkeypatch.setenv("SWITCHBOARD_STATE_DIR", str(folder))
    return folder


@pytest.fixture
def listening() -> Iterator[Any]:
    """``listening()``: a fresh pair of listening sockets, as a live runtime's endpoints."""
    opened: list[socket.socket] = []

    def make() -> tuple[str, str]:
        urls = []
        for _ in range(2):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen()
            opened.append(s)
            urls.append(f"http://127.0.0.1:{s.getsockname()[1]}")
        return urls[0], urls[1]

    yield make
    for s in opened:
        s.close()


def gone_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def record(project: Path, *, pid: int, gateway: str, aws: str, log_dir: Path | None = None) -> dict[str, Any]:
    state_file = project / ".switchboard" / "local.json"
    state = {
        "pid": pid,
        "gateway": gateway,
        "aws_endpoint": aws,
        "region": "us-east-1",
        "stage": "local",
        "secret_prefix": "switchboard/local/",
        "project": str(project),
        "state_file": str(state_file),
        "log_dir": str(log_dir) if log_dir else None,
    }
    locate.write_record(state_file, state)
    return state


def test_a_subfolder_finds_its_projects_runtime(
    tmp_path: Path, listening: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "checkout"
    gateway, aws = listening()
    record(project, pid=os.getpid(), gateway=gateway, aws=aws, log_dir=project / ".switchboard" / "logs")
    deep = project / "functions" / "website_to_crm" / "tests"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    target = resolve(None)
    assert (target.endpoint, target.gateway) == (aws, gateway)
    assert target.log_dir == project / ".switchboard" / "logs"


def test_an_unrelated_folder_finds_the_one_runtime_recorded_for_the_user(
    tmp_path: Path, listening: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway, aws = listening()
    record(tmp_path / "checkout", pid=os.getpid(), gateway=gateway, aws=aws)
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    assert resolve(None).gateway == gateway
    assert (local_state() or {}).get("gateway") == gateway


def test_several_live_runtimes_outside_a_project_are_listed_not_guessed(
    tmp_path: Path, listening: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = listening(), listening()
    record(tmp_path / "a", pid=os.getpid(), gateway=one[0], aws=one[1])
    record(tmp_path / "b", pid=os.getpid(), gateway=two[0], aws=two[1])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CliError, match="2 local runtimes are running") as caught:
        resolve(None)
    assert str(tmp_path / "a") in str(caught.value) and str(tmp_path / "b") in str(caught.value)
    assert "run the command inside the folder of the one you mean" in str(caught.value)
    monkeypatch.chdir(tmp_path / "b")  # inside one project: that one, without asking
    assert resolve(None).gateway == two[0]


def test_a_record_whose_process_is_gone_is_named_stale_and_removed(
    tmp_path: Path, listening: Any, monkeypatch: pytest.MonkeyPatch, user_dir: Path
) -> None:
    project = tmp_path / "checkout"
    gateway, aws = listening()
    state = record(project, pid=gone_pid(), gateway=gateway, aws=aws)
    monkeypatch.chdir(project)
    with pytest.raises(
        CliError, match=r"is stale \(its process \d+ is gone; the record is removed\)"
    ) as caught:
        resolve(None)
    assert "start it again with `make dev`" in str(caught.value)
    assert not (project / ".switchboard" / "local.json").exists()
    assert not list((user_dir / "runtimes").glob("*.json"))  # its per-user record went with it
    # A per-user record alone (its project folder deleted) is removed when read from elsewhere.
    elsewhere = listening()
    record(tmp_path / "deleted", pid=gone_pid(), gateway=elsewhere[0], aws=elsewhere[1])
    (tmp_path / "deleted" / ".switchboard" / "local.json").unlink()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CliError, match="1 stale record") as none:
        resolve(None)
    assert str(none.value).startswith("no local runtime is running here")
    assert not list((user_dir / "runtimes").glob("*.json")), state


def test_a_record_whose_endpoints_do_not_answer_is_stale_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "checkout"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        silent = f"http://127.0.0.1:{s.getsockname()[1]}"  # bound, never listening: refused
        record(project, pid=os.getpid(), gateway=silent, aws=silent)
        monkeypatch.chdir(project)
        with pytest.raises(CliError, match=f"runs but nothing answers at {silent}"):
            resolve(None)
    assert (project / ".switchboard" / "local.json").exists()  # its process may still need it


def test_a_stale_project_runtime_is_not_swapped_for_another_live_one(
    tmp_path: Path, listening: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = listening()
    record(tmp_path / "other", pid=os.getpid(), gateway=live[0], aws=live[1])
    dead = listening()
    record(tmp_path / "mine", pid=gone_pid(), gateway=dead[0], aws=dead[1])
    monkeypatch.chdir(tmp_path / "mine")
    with pytest.raises(CliError, match="is stale"):
        resolve(None)


def test_nothing_found_says_where_it_looked_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, user_dir: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CliError) as caught:
        resolve(None)
    message = str(caught.value)
    assert message.startswith("no local runtime is running here")
    assert str(tmp_path) in message and str(user_dir) in message
    assert "start one with `make dev`" in message and "--stage prod" in message
    assert "\n" not in message
    assert local_state() is None


def test_stage_flag_still_means_aws_even_with_a_live_local_runtime(
    tmp_path: Path, listening: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway, aws = listening()
    record(tmp_path, pid=os.getpid(), gateway=gateway, aws=aws)
    monkeypatch.chdir(tmp_path)
    prod = resolve("prod", "eu-west-2")
    assert (prod.is_local, prod.stage, prod.region) == (False, "prod", "eu-west-2")
    assert resolve("local").gateway == gateway


def test_the_user_directory_follows_xdg_when_not_overridden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SWITCHBOARD_STATE_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert locate.user_state_dir() == tmp_path / "xdg" / "switchboard"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert locate.user_state_dir() == tmp_path / "home" / ".local" / "state" / "switchboard"


def test_a_second_runtime_in_the_same_folder_keeps_its_record_when_the_first_stops(
    tmp_path: Path, listening: Any
) -> None:
    first, second = listening(), listening()
    old = record(tmp_path, pid=os.getpid(), gateway=first[0], aws=first[1])
    new = record(tmp_path, pid=os.getpid(), gateway=second[0], aws=second[1])
    locate.remove_record(tmp_path / ".switchboard" / "local.json", old)
    assert locate.read_record(tmp_path / ".switchboard" / "local.json")["gateway"] == new["gateway"]
