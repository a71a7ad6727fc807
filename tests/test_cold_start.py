"""The cold-start benchmark's clock: it stops when a fresh process answers, not when it exits, and
every child loads up-to-date bytecode.

On Lambda the caller has its answer when the handler returns and the process is frozen for the next
request; interpreter teardown is no part of a cold start, however long a big heap takes to free.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path

from benchmarks.cold_start import ANSWERED, SOURCES, _answer_time, compile_sources


def _child(tmp_path: Path, code: str) -> tuple[float, int, str, str]:
    elapsed, done = _answer_time([sys.executable, "-c", code], dict(os.environ), tmp_path)
    return elapsed, done.returncode, done.stdout, done.stderr


def test_the_clock_stops_at_the_answer_not_at_the_exit(tmp_path: Path) -> None:
    # The child answers, then takes its time to exit - as teardown of a big heap does.
    code = (
        "import sys, time\n"
        "print('a log line', flush=True)\n"
        f"print({ANSWERED!r}, 202, flush=True)\n"
        "time.sleep(1.0)\n"
    )
    started = time.perf_counter()
    elapsed, returncode, stdout, _ = _child(tmp_path, code)
    total = time.perf_counter() - started
    assert returncode == 0
    assert elapsed <= total - 0.9, f"{elapsed:.2f} s of {total:.2f} s: the clock counted the exit"
    assert stdout.splitlines()[0] == "a log line"


def test_a_child_that_never_answers_is_a_failure(tmp_path: Path) -> None:
    _, returncode, _, stderr = _child(tmp_path, "print('no answer')")
    assert returncode != 0
    assert "without printing its answer" in stderr


def test_a_failing_child_keeps_its_exit_status_and_stderr(tmp_path: Path) -> None:
    code = f"import sys\nprint({ANSWERED!r}, 500, flush=True)\nsys.exit('status 500, expected 202')"
    _, returncode, _, stderr = _child(tmp_path, code)
    assert returncode == 1
    assert "status 500, expected 202" in stderr


def test_stale_bytecode_is_compiled_before_the_children_run(tmp_path: Path) -> None:
    # A module edited after its cache was written would be compiled again in every child.
    sources = [tmp_path / package / "mod.py" for package in SOURCES]
    for source in sources:
        source.parent.mkdir()
        source.write_text("VALUE = 1\n")
    compile_sources(tmp_path)
    caches = [Path(importlib.util.cache_from_source(str(source))) for source in sources]
    assert all(cache.exists() for cache in caches)
    first = caches[0].read_bytes()
    sources[0].write_text("VALUE = 2  # edited\n")
    os.utime(sources[0], (time.time() + 5, time.time() + 5))
    compile_sources(tmp_path)
    assert caches[0].read_bytes() != first
