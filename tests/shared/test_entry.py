"""The Lambda entry point's cold path: the first invocation runs with the cyclic garbage collector
paused and pydantic's plugin search off, then freezes the heap it built and resumes collecting.

Each case runs in a fresh process, as Lambda runs a cold start: freezing the heap and switching the
collector are process-wide, and the first invocation is only first once.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from benchmarks.harness import REPO
from tests.support import python_child

_ENV = {
    "PATH": "/usr/bin:/bin",
    "PYTHONPATH": str(REPO),
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "SWITCHBOARD_INTEGRATION": "website_to_crm",
    "SWITCHBOARD_QUEUE_URL": "http://127.0.0.1:9/q",
    "SWITCHBOARD_DLQ_URL": "http://127.0.0.1:9/dlq",
    "SWITCHBOARD_TABLE": "t",
}

#: Two invocations through ``shared.entry.handler``, with ``dispatch`` replaced by one that records
#: what the process looked like while it answered (or raises on the first call, with ``fail``).
_CHILD = """
import gc, json, os, sys
import shared.entry as entry

seen = []

def fake_dispatch(rt, event, context=None):
    seen.append({
        "collecting": gc.isenabled(),
        "frozen": gc.get_freeze_count(),
        "plugins": os.environ.get("PYDANTIC_DISABLE_PLUGINS"),
        "runtime": rt.name,
        "first_imports": [m for m in sys.modules if m in ("boto3", "pydantic", "shared.runtime")],
    })
    if sys.argv[1] == "fail" and len(seen) == 1:
        raise RuntimeError("first answer failed")
    return {"statusCode": 202}

entry.dispatch = fake_dispatch
before = {"collecting": gc.isenabled(), "frozen": gc.get_freeze_count()}
errors = []
for _ in range(2):
    try:
        entry.handler({}, None)
    except RuntimeError as exc:
        errors.append(str(exc))
after = {"collecting": gc.isenabled(), "frozen": gc.get_freeze_count()}
print(json.dumps({"before": before, "seen": seen, "after": after, "errors": errors}))
"""


def _run(mode: str, **env: str) -> dict[str, Any]:
    result: dict[str, Any] = python_child(_CHILD, mode, env={**_ENV, **env})
    return result


def test_the_first_invocation_runs_without_the_collector_then_freezes_the_heap() -> None:
    run = _run("ok")
    assert run["before"] == {"collecting": True, "frozen": 0}
    first, second = run["seen"]
    assert first["collecting"] is False and first["frozen"] == 0
    # What the cold start built is frozen; later invocations run with the collector, as before.
    assert second["collecting"] is True and second["frozen"] > 10_000
    assert run["after"]["collecting"] is True
    assert first["runtime"] == second["runtime"] == "website_to_crm"


def test_boto3_is_imported_first_from_the_handlers_own_frame() -> None:
    """Reached from inside the ingress's imports, boto3's 11-module-deep chain put urllib3's regex
    parser on a CPython 3.11 stack-chunk boundary (an mmap and a munmap per call; ~30-40 ms)."""
    assert _run("ok")["seen"][0]["first_imports"] == ["boto3", "pydantic", "shared.runtime"]


def test_a_failed_first_invocation_still_resumes_the_collector() -> None:
    run = _run("fail")
    assert run["errors"] == ["first answer failed"]
    first, second = run["seen"]
    assert first["collecting"] is False
    assert second["collecting"] is True
    assert run["after"]["collecting"] is True


def test_pydantic_plugins_are_not_searched_unless_the_environment_says() -> None:
    assert _run("ok")["seen"][0]["plugins"] == "__all__"
    assert _run("ok", PYDANTIC_DISABLE_PLUGINS="logfire")["seen"][0]["plugins"] == "logfire"


def test_a_process_whose_collector_was_off_keeps_it_off() -> None:
    run = python_child("import gc; gc.disable()\n" + _CHILD, "ok", env=_ENV)
    assert run["after"]["collecting"] is False


_BUILT = """
import json, sys
from shared.registry import load_specs
from shared import events

specs = load_specs()
unbuilt = {s.name: not s.settings.__pydantic_complete__ for s in specs}
unbuilt_events = {m.__name__: not m.__pydantic_complete__ for m in (events.LeadUtm, events.LeadSnapshot,
                  events.LeadCreated, events.ButtonClicked)}
print(json.dumps({"settings": unbuilt, "events": unbuilt_events}))
"""


def test_loading_the_specs_builds_no_settings_or_bus_event_model() -> None:
    """Settings are validated when first read (forms, routes, the worker) and bus events on the worker:
    a webhook's cold start must not pay their schema builds (``defer_build``)."""
    built = python_child(_BUILT, env=_ENV)
    assert len(built["settings"]) >= 10
    assert [name for name, unbuilt in built["settings"].items() if not unbuilt] == []
    assert [name for name, unbuilt in built["events"].items() if not unbuilt] == []


def test_a_deferred_settings_model_still_refuses_bad_settings_by_name() -> None:
    from pydantic import ValidationError

    from shared.errors import ConfigurationError
    from shared.registry import load_spec
    from shared.runtime import Runtime

    spec = load_spec("website_to_crm")
    rt = Runtime(spec=spec, stage="t", queue_url=None, dlq_url=None, table="t", bus="b", secret_prefix="p/")
    rt.settings_json = json.dumps({"allowed_origins": ["https://shop.example"], "unknown": 1})
    with pytest.raises(ConfigurationError, match="unknown") as caught:
        rt.settings  # noqa: B018 - reading it validates
    assert isinstance(caught.value.__cause__, ValidationError)
