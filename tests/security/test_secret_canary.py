"""No secret leaves the process: every flow runs with canary credentials, and no output holds one.

Every sample of every integration (the registry and ``events/``: a new integration is covered
without a new test) is replayed through the local runtime with every secret - tokens, API keys,
client secrets, refresh tokens, signing secrets - set to a recognisable canary, in Secrets Manager
and in the sandbox apps alike (so the flows really run: the samples must end as their files say).
The OAuth apps' access tokens (QuickBooks, Google) are made during the run, by the stand-ins' token
endpoints: every access and refresh token they hand out is a canary as well, and every OAuth app the
samples use must have handed out one (else the bearer tokens were not searched).
Then everything Switchboard wrote is searched for each canary, for its base64 forms and for the part
after a scheme prefix (``whsec_``): the Powertools JSON logs, the EMF metric lines, the trace
records, the DLQ messages and their attributes, the HTTP error bodies the gateway answered, and the
output of ``switchboard trace``, ``dlq list``/``dlq show`` and ``secrets list``/``secrets show``.

The same run checks the masking of personal data: no email address or phone number of a sample is
in a log line unmasked - while HubSpot (the effect itself) got them whole.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.cli import main
from infra.local import replay as replay_module
from infra.local.console import TracePrinter
from infra.local.runtime import LocalRuntime
from infra.local.samples import load_samples
from sandbox.base import SandboxRequest, SandboxResponse
from sandbox.oauth import OAuthServer
from shared import store, trace
from shared.registry import load_specs
from shared.secrets import stored_name

pytestmark = pytest.mark.e2e

_SECRET_FIELD = re.compile(r"secret|token|key|password", re.IGNORECASE)
_NOT_SECRET = {"base_url", "token_url", "expires_at"}
#: What a token answer hands out: each value the stand-ins' OAuth servers issue is a canary too.
_ISSUED = ("access_token", "refresh_token")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def _canary_for(old: str, name: str) -> str:
    tag = f"CANARY{secrets.token_hex(6)}{re.sub(r'[^A-Za-z0-9]', '', name)[:24]}"
    if old.startswith("whsec_"):  # Standard Webhooks: whsec_<base64 of the key bytes>
        return "whsec_" + base64.b64encode(tag.encode()).decode()
    return tag


def _forms(canary: str) -> set[str]:
    """The canary and the shapes it could leak in: base64 of it, and the part after a prefix."""
    forms = {
        canary,
        base64.b64encode(canary.encode()).decode(),
        base64.urlsafe_b64encode(canary.encode()).decode(),
    }
    if canary.startswith("whsec_"):
        key = canary.removeprefix("whsec_")
        forms |= {key, base64.b64decode(key).decode()}
    return {f.rstrip("=") for f in forms}


def _swap(obj: Any, old: str, new: str, depth: int = 0, seen: set[int] | None = None) -> None:
    """Replace ``old`` by ``new`` in a sandbox app's credentials, wherever it keeps them."""
    seen = seen if seen is not None else set()
    if depth > 4 or id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, dict):
        for k in list(obj):
            value = obj[k]
            if value == old:
                obj[k] = new
            elif k == old:
                obj[new] = obj.pop(k)
            else:
                _swap(value, old, new, depth + 1, seen)
        return
    if isinstance(obj, list):
        for i, value in enumerate(obj):
            if value == old:
                obj[i] = new
        return
    attrs = getattr(obj, "__dict__", None)
    if attrs is None or not _standin_code(obj.__class__.__module__):
        return
    for name, value in list(attrs.items()):
        if value == old:
            setattr(obj, name, new)
        elif isinstance(value, dict | list) or _standin_code(getattr(value, "__module__", "")):
            _swap(value, old, new, depth + 1, seen)


def _standin_code(module: str) -> bool:
    """The stand-in framework (``sandbox.*``) or an app's stand-in (``apps.<app>.standin*``)."""
    parts = module.split(".")
    return parts[0] == "sandbox" or (parts[0] == "apps" and len(parts) > 2 and parts[2] == "standin")


@pytest.fixture
def issued() -> list[tuple[str, str, str]]:
    """``(app, field, token)`` for every token the stand-ins' OAuth servers hand out during the test."""
    return []


@pytest.fixture
def runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, issued: list[tuple[str, str, str]]
) -> Iterator[LocalRuntime]:
    monkeypatch.chdir(tmp_path)
    answer = OAuthServer.token

    def recording(self: OAuthServer, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        response = answer(self, req, params)
        body = response.parsed() if response.status == 200 else None
        issued.extend((self.app, f, str(body[f])) for f in _ISSUED if isinstance(body, dict) and body.get(f))
        return response

    # Before the runtime builds the stand-ins: their routes bind the token endpoint when made.
    monkeypatch.setattr(OAuthServer, "token", recording)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")  # EMF lines on stdout, to search
    rt = LocalRuntime(
        port=0,
        retry_scale=0.02,
        log_dir=str(tmp_path / ".switchboard" / "logs"),
        state_file=tmp_path / ".switchboard" / "local.json",
    )
    with rt:
        yield rt


def _set_canaries(rt: LocalRuntime, swapped: dict[str, str]) -> dict[str, str]:
    """Every secret field of every connection -> a canary, in its store and the sandboxes.

    ``swapped`` gets old value -> canary: a sample's caller holds the credential too (an API key).
    """
    from aws_lambda_powertools.utilities.parameters import base

    assert rt.resources is not None
    first = next(iter(rt.runtimes.values()))
    canaries: dict[str, str] = {}
    done: set[str] = set()
    for spec in rt.specs:
        for conn in spec.all_connections:
            if conn.name in done:
                continue
            done.add(conn.name)
            name = stored_name(first, conn)
            client = first.aws(store.service(conn))
            value = json.loads(store.read_value(client, conn, name) or "{}")
            for field, old in list(value.items()):
                if field in _NOT_SECRET or not _SECRET_FIELD.search(field) or not old:
                    continue
                parts = old.split(",")  # a list of keys (stock_level's API keys) gets one canary each
                news = [_canary_for(part, f"{conn.name}{field}") for part in parts]
                value[field] = ",".join(news)
                for i, (part, canary) in enumerate(zip(parts, news, strict=True)):
                    canaries[f"{conn.name}.{field}[{i}]"] = canary
                    swapped[part] = canary
                for sandbox in rt.sandboxes.values():
                    with sandbox.lock:
                        for part, canary in zip(parts, news, strict=True):
                            _swap(sandbox, part, canary)
            store.write_value(client, conn, name, json.dumps(value))
    base.clear_caches()  # type: ignore[no-untyped-call]
    time.sleep(2.1)  # the runtimes' own secret cache (2 s locally)
    rt._subscribe_senders()  # the providers' webhook subscriptions sign with the new secrets
    return canaries


def test_no_secret_in_any_output_and_personal_data_masked(
    runtime: LocalRuntime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    issued: list[tuple[str, str, str]],
) -> None:
    swapped: dict[str, str] = {}
    canaries = _set_canaries(runtime, swapped)
    assert canaries, "no secrets found to replace"

    def samples_with_canaries(spec: Any) -> list[Any]:
        return [
            dataclasses.replace(s, headers={k: swapped.get(v, v) for k, v in s.headers.items()})
            for s in load_samples(spec)
        ]

    monkeypatch.setattr(replay_module, "load_samples", samples_with_canaries)

    records: list[dict[str, Any]] = []
    trace.add_sink(records.append)
    bodies: list[str] = []

    class Capturing(httpx.Client):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            def keep(response: httpx.Response) -> None:
                if not response.request.url.path.startswith("/_sandbox"):
                    response.read()
                    bodies.append(response.text)

            super().__init__(*args, event_hooks={"response": [keep]}, **kwargs)

    monkeypatch.setattr(httpx, "Client", Capturing)  # the module replay uses (one module object)
    printer = TracePrinter()
    trace.add_sink(printer)
    try:
        results = replay_module.replay(runtime, printer)
        drained = runtime.wait_drained(120)
        assert replay_module.summarise(results, printer, drained, runtime), "samples did not end as expected"
    finally:
        trace.remove_sink(printer)
        trace.remove_sink(records.append)

    # The bearer and refresh tokens the OAuth apps handed out while the samples ran are secrets too.
    oauth_apps = {c.app for spec in runtime.specs for c in spec.all_connections if c.kind == "oauth2"}
    assert oauth_apps and {app for app, f, _ in issued if f == "access_token"} == oauth_apps, issued
    for i, (app, field, token) in enumerate(issued):
        canaries[f"{app} issued {field} #{i}"] = token

    # CLI output, as an operator would read it.
    ids = sorted({e for r in results for e in r.event_ids})
    commands = [["secrets", "list"], ["dlq", "list"]]
    commands += [["secrets", "show", c] for c in sorted({c.split(".")[0] for c in canaries})]
    commands += [["dlq", "list", s.name] for s in runtime.specs if s.queued_triggers]
    commands += [["trace", e] for e in ids]
    dlq_letters = _dead_letters(runtime)
    commands += [["dlq", "show", m["MessageId"]] for m in dlq_letters]
    for args in commands:
        main(args)

    captured = capfd.readouterr()
    logs = "\n".join(p.read_text() for p in (tmp_path / ".switchboard" / "logs").glob("*.jsonl"))
    outputs = {
        "logs": logs,
        "stdout (EMF metrics, trace, CLI)": captured.out,
        "stderr": captured.err,
        "trace records": json.dumps(records, default=str),
        "DLQ messages and attributes": json.dumps(dlq_letters, default=str),
        "HTTP answers": "\n".join(bodies),
    }
    assert '"_aws"' in captured.out, "no EMF metric line was printed - the metrics were not searched"
    assert logs and dlq_letters and bodies and records
    for where, text in outputs.items():
        for name, canary in canaries.items():
            for form in _forms(canary):
                assert form not in text, f"{name} leaked into {where}"

    # Personal data: masked in the logs, whole in the effects.
    unmasked = [e for e in _EMAIL.findall(logs) if not e.split("@")[0].endswith("***")]
    assert unmasked == [], f"unmasked email addresses in the logs: {unmasked[:5]}"
    phones = _sample_phones()
    assert phones
    digits_in_logs = re.sub(r"[^0-9+]", "", logs)
    for phone in phones:
        assert phone not in digits_in_logs or len(phone) < 8, f"phone {phone[:4]}… in the logs"
    hubspot = httpx.get(f"{runtime.url}/_sandbox/hubspot/_state", timeout=10).json()
    stored = json.dumps(hubspot)
    assert "priya.raman@northwind-traders.example" in stored  # the effect got the real address
    assert "+442079460321" in stored  # and the real phone number


def _dead_letters(rt: LocalRuntime) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for r in rt.runtimes.values():
        if not r.spec.queued_triggers:
            continue
        got = r.aws("sqs").receive_message(
            QueueUrl=r.dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=0
        )
        out += got.get("Messages", [])
    return out


def _sample_phones() -> list[str]:
    """Phone numbers in the samples' payloads (digits and a leading +), to look for in the logs."""
    found: set[str] = set()

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and "phone" in key.lower():
            digits = re.sub(r"[^0-9+]", "", value)
            if len(digits) >= 8:
                found.add(digits)

    for spec in load_specs():
        for sample in load_samples(spec):
            try:
                walk(json.loads(sample.body or b"null"))
            except ValueError:
                continue
            walk(sample.detail)
    return sorted(found)
