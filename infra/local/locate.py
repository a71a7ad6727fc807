"""Where a running local runtime is recorded, and how a command in any folder finds it.

A runtime records itself twice while it runs: in ``.switchboard/local.json`` of the folder it was
started in (the project), and as ``runtimes/<pid>-<port>.json`` in a per-user directory -
``$SWITCHBOARD_STATE_DIR``, else ``$XDG_STATE_HOME/switchboard``, else ``~/.local/state/switchboard``
(tests point ``SWITCHBOARD_STATE_DIR`` at a temporary folder). Both records are the same JSON: pid,
gateway and moto endpoints, region, stage, secret prefix, project, log folder.

:func:`find` looks the way git finds its repository: the nearest ``.switchboard/local.json`` in the
folder or a folder above it is *the* runtime of that project. Outside any project, the per-user
records are read: one live runtime is used; several are refused with the list, since acting on the
wrong one (a redrive, a secret) would be worse than asking. A record is stale when its process is
gone or its endpoints do not answer; a stale record is never used, it is named in the error, and
when its process is gone it is removed (nothing can answer for it any more).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "Located",
    "RecordUnreadable",
    "RuntimeNotFound",
    "RuntimeStale",
    "RuntimesAmbiguous",
    "Stale",
    "find",
    "nearest_record",
    "read_record",
    "remove_record",
    "user_state_dir",
    "why_stale",
    "write_record",
]

STATE_DIR_ENV = "SWITCHBOARD_STATE_DIR"
RECORD = Path(".switchboard") / "local.json"
_PROBE_TIMEOUT_S = 1.0


class RuntimeNotFound(LookupError):
    """No live local runtime: none here or above, none registered for this user."""


class RuntimeStale(LookupError):
    """The project's runtime record names a runtime that is gone or does not answer."""


class RuntimesAmbiguous(LookupError):
    """Outside any project, several local runtimes are live: which one is meant is not guessed."""


class RecordUnreadable(ValueError):
    """A runtime record that is not valid JSON."""


@dataclass(frozen=True)
class Located:
    """A live runtime's record and the file it was read from."""

    state: dict[str, Any]
    path: Path


def user_state_dir() -> Path:
    """The per-user directory of runtime records (see the module docstring)."""
    explicit = os.environ.get(STATE_DIR_ENV)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "state"
    return base / "switchboard"


def _pointer(state: dict[str, Any]) -> Path:
    port = urlsplit(str(state.get("gateway", ""))).port or 0
    return user_state_dir() / "runtimes" / f"{state.get('pid', 0)}-{port}.json"


def write_record(path: Path, state: dict[str, Any]) -> None:
    """Record a started runtime in ``path`` (its project's) and in the per-user directory."""
    text = json.dumps(state, indent=2)
    for target in (path, _pointer(state)):
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, target)  # a reader never sees half a record


def remove_record(path: Path, state: dict[str, Any]) -> None:
    """Remove a stopped runtime's records: the project's only if it is still this runtime's (a
    second runtime started in the same folder owns it now otherwise)."""
    with contextlib.suppress(FileNotFoundError):
        _pointer(state).unlink()
    with contextlib.suppress(OSError, RecordUnreadable):
        current = read_record(path)
        if current.get("pid") == state.get("pid") and current.get("gateway") == state.get("gateway"):
            path.unlink()


def read_record(path: Path) -> dict[str, Any]:
    """A record's JSON (``FileNotFoundError`` if there is none)."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise RecordUnreadable(f"{path} is not valid JSON; delete it and restart `make dev`") from exc
    if not isinstance(state, dict):
        raise RecordUnreadable(f"{path} is not a runtime record; delete it and restart `make dev`")
    return state


def nearest_record(start: Path | None = None) -> Path | None:
    """``.switchboard/local.json`` in ``start`` (default: the current folder) or the nearest folder above."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        record = candidate / RECORD
        if record.is_file():
            return record
    return None


@dataclass(frozen=True)
class Stale:
    """Why a record cannot be used."""

    reason: str
    #: The process is gone: nothing can answer for the record any more, so it may be removed.
    process_gone: bool


def why_stale(state: dict[str, Any]) -> Stale | None:
    """Why a record cannot be used (its process is gone, an endpoint does not answer), or ``None``."""
    pid = state.get("pid")
    if isinstance(pid, int) and not _alive(pid):
        return Stale(f"its process {pid} is gone", process_gone=True)
    for key in ("gateway", "aws_endpoint"):
        url = str(state.get(key, ""))
        if not _answers(url):
            runs = f"process {pid} runs but " if isinstance(pid, int) else ""
            return Stale(f"{runs}nothing answers at {url or f'its {key}'}", process_gone=False)
    return None


def find(start: Path | None = None) -> Located:
    """The live runtime a command in ``start`` (default: the current folder) means; see the module."""
    folder = (start or Path.cwd()).resolve()
    record = nearest_record(folder)
    if record is not None:
        state = read_record(record)
        stale = why_stale(state)
        if stale is None:
            return Located(state, record)
        removed = ""
        if stale.process_gone:
            remove_record(record, state)
            removed = "; the record is removed"
        raise RuntimeStale(
            f"the local runtime recorded in {record} is stale ({stale.reason}{removed}): "
            f"start it again with `make dev` in {record.parent.parent}"
        )
    live, stale_count = _registered()
    if len(live) == 1:
        return live[0]
    if live:
        listed = ", ".join(f"{r.state.get('project', '?')} ({r.state.get('gateway')})" for r in live)
        raise RuntimesAmbiguous(
            f"{len(live)} local runtimes are running: {listed}; run the command inside the folder of the one you mean"
        )
    stale_note = f"; {stale_count} stale record(s) of runtimes that are gone removed" if stale_count else ""
    raise RuntimeNotFound(
        f"no local runtime is running here (no {RECORD} in {folder} or a folder above it, none registered "
        f"in {user_state_dir()}{stale_note}): start one with `make dev` in your Switchboard checkout, "
        "or name a deployed stage with --stage prod"
    )


def _registered() -> tuple[list[Located], int]:
    """The live runtimes recorded for this user, and how many stale records were removed."""
    folder = user_state_dir() / "runtimes"
    live: list[Located] = []
    stale = 0
    for pointer in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            state = read_record(pointer)
        except (OSError, RecordUnreadable):
            continue
        why = why_stale(state)
        if why is None:
            live.append(Located(state, Path(str(state.get("state_file") or pointer))))
        elif why.process_gone:
            with contextlib.suppress(FileNotFoundError):
                pointer.unlink()
            stale += 1
    return live, stale


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it exists
    return True


def _answers(url: str) -> bool:
    parts = urlsplit(url)
    if not parts.hostname or not parts.port:
        return False
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=_PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False
