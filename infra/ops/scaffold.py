"""``switchboard new <name> --trigger webhook|schedule|event --app <app>``: a working integration.

It writes the integration's folder (spec, models, worker, README, local settings, and its tests in
``functions/<name>/tests/``) and a sample in ``events/<name>/`` that ``make dev`` replays - and nothing
else, because nothing else lists integrations: the CDK app, the local runtime, the OpenAPI document
and the CLI all find ``functions/*/spec.py``. What it writes passes ``make test`` as written (ruff,
ruff format, mypy strict, pytest), so the first change a developer makes starts from green.

The templates are in ``infra/scaffold/templates`` (``string.Template``, ``${name}`` placeholders).
For HubSpot and Slack the worker already calls an action of the catalogue (upsert the contact, post
a message); for other apps it declares the connection and leaves the call as the first TODO.
"""

from __future__ import annotations

import base64
import importlib
import importlib.util
import keyword
import re
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Final, Literal, TextIO

from infra.ops.target import CliError
from shared.actions import catalogue
from shared.spec import Connection

__all__ = ["ROOT", "TEMPLATES", "TRIGGERS", "Scaffold", "apps", "format_python", "pascal", "scaffold"]

Trigger = Literal["webhook", "schedule", "event"]
TRIGGERS: Final[tuple[Trigger, ...]] = ("webhook", "schedule", "event")
ROOT: Final = Path(__file__).resolve().parents[2]
TEMPLATES: Final = ROOT / "infra" / "scaffold" / "templates"
_NAME: Final = re.compile(r"^[a-z][a-z0-9_]{1,38}[a-z0-9]$")

_TRIGGER_DOC: Final = {
    "webhook": "`POST /hooks/{name}`, signed with Standard Webhooks",
    "schedule": "EventBridge schedule, every day at 07:00 Europe/London",
    "event": "`lead.created` on the Switchboard bus",
}
#: How work comes in, in the one-line description (``<way in> -> <effect>``).
_WAY_IN: Final = {
    "webhook": "POST /hooks/{name}",
    "schedule": "every day at 07:00 Europe/London",
    "event": "lead.created on the Switchboard bus",
}


@dataclass(frozen=True)
class Scaffold:
    """What was written, relative to the repository root."""

    name: str
    files: tuple[Path, ...]


def apps() -> list[str]:
    """Apps an integration can target: the packages of ``apps/`` with an API connection."""
    from apps import app_names

    found = []
    for name in app_names():
        module = importlib.import_module(f"apps.{name}")
        connection = getattr(module, "CONNECTION", None)
        if isinstance(connection, Connection) and connection.kind in ("api", "oauth2"):
            found.append(name)
    return found


def pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _worker(trigger: Trigger, app: str) -> tuple[str, str, str, str]:
    """(imports, body, settings fields, one-line summary) of the worker for this app."""
    if app == "slack":
        text = (
            'f"Scheduled run due {data.scheduled_at} ({data.timezone})"'
            if trigger == "schedule"
            else "f\"{data.name} wrote: {data.message or '(no message)'}\""
        )
        body = (
            "    settings: Settings = ctx.settings\n"
            f"    message = chat.PostMessage(channel=settings.slack_channel, text={text})\n"
            '    posted = ctx.step("slack.post", lambda: POST_MESSAGE(ctx, message).model_dump(mode="json"))\n'
            '    return {"channel": posted["channel"], "ts": posted["ts"]}\n'
        )
        fields = '\n    #: Where the message goes (the bot must be in the channel).\n    slack_channel: str = Field(default="#new-leads", min_length=2, max_length=80)\n'
        imports = "from apps.slack.actions import POST_MESSAGE\nfrom shared.actions import chat\n"
        return imports, body, fields, "one Slack message"
    if app == "hubspot" and trigger != "schedule":
        guard = (
            '    if data.email is None:\n        return {"skipped": "the lead left no email address"}\n'
            if trigger == "event"
            else ""
        )
        body = (
            f"{guard}"
            "    contact = crm.UpsertContact(email=data.email, first_name=data.name)\n"
            '    upserted = ctx.step("upsert_contact", lambda: UPSERT_CONTACT(ctx, contact).model_dump(mode="json"))\n'
            '    return {"contact_id": upserted["id"], "new": upserted["is_new"]}\n'
        )
        imports = "from apps.hubspot.actions import UPSERT_CONTACT\nfrom shared.actions import crm\n"
        return imports, body, "", "one HubSpot contact (created or updated)"
    if _has_records_api(app):
        return _records_worker(trigger, app)
    body = (
        f"    # TODO: {_call_hint(app)}\n"
        '    ctx.logger.info("work item received", extra={"event_id": ctx.event_id})\n'
        '    return {"received": True}\n'
    )
    return "", body, "", f"a call to {app} (written in worker.py)"


def _call_hint(app: str) -> str:
    """The comment that names, with real names, the call a worker for ``app`` is still to make."""
    offered = [a for a in catalogue() if a.app == app]
    if not offered:
        return (
            f"{app} performs no catalogue action yet: declare one in apps/{app}/actions.py\n"
            "    # (docs/adding-an-app.md), then call it here in its own ctx.step."
        )
    first = offered[0]
    module = importlib.import_module(f"apps.{app}.actions")
    constant = next(
        (k for k, v in vars(module).items() if v is first and k.isupper()), first.tool_name.upper()
    )
    model = f"{first.input.__module__}.{first.input.__name__}"
    return (
        f"{app} performs {', '.join(a.name for a in offered)} (apps/{app}/actions.py).\n"
        f"    # Call one in its own step, so a retry does not repeat it; {first.name} takes a {model}:\n"
        f'    #   done = ctx.step("{first.name}", lambda: {constant}(ctx, request).model_dump(mode="json"))'
    )


def _has_records_api(app: str) -> bool:
    """Whether the app offers the records API ``switchboard new-app`` writes (``<app>.create_record``)."""
    if importlib.util.find_spec(f"apps.{app}.actions") is None:
        return False
    module = importlib.import_module(f"apps.{app}.actions")
    return hasattr(module, "CREATE_RECORD") and hasattr(module, "CreateRecord")


def _records_worker(trigger: Trigger, app: str) -> tuple[str, str, str, str]:
    """A worker that creates one record through the app's ``<app>.create_record`` action."""
    if trigger == "schedule":
        record = (
            'CreateRecord(title=f"Scheduled run due {data.scheduled_at}", fields={"timezone": data.timezone})'
        )
    else:
        record = (
            'CreateRecord(title=data.name, fields={"email": data.email or "", "message": data.message or ""})'
        )
    body = (
        f"    record = {record}\n"
        f'    created = ctx.step("{app}.create_record", lambda: CREATE_RECORD(ctx, record).model_dump(mode="json"))\n'
        '    return {"record_id": created["id"]}\n'
    )
    imports = f"from apps.{app}.actions import CREATE_RECORD, CreateRecord\n"
    return imports, body, "", f"one {app} record (created once)"


def _test_parts(trigger: Trigger) -> tuple[list[str], list[str], str]:
    """(stdlib imports, first-party imports, the ``deliver`` function) of the generated test."""
    if trigger == "webhook":
        deliver = (
            "def deliver(rt: Runtime, sample: Sample) -> None:\n"
            '    """As the sender would: signed, through API Gateway, into the production handler."""\n'
            "    answer = send_sample(rt, sample)\n"
            '    assert answer["statusCode"] == sample.expect_status, answer\n'
        )
        return [], ["from tests.support import dlq_messages, drain, send_sample"], deliver
    if trigger == "schedule":
        deliver = (
            "def deliver(rt: Runtime, sample: Sample) -> None:\n"
            '    """As EventBridge Scheduler would: the tick\'s message on the queue."""\n'
            "    trigger = SPEC.trigger(sample.trigger)\n"
            "    assert isinstance(trigger, ScheduleTrigger)\n"
            "    body = schedule_message(SPEC.name, trigger, datetime.fromisoformat(sample.scheduled_at))\n"
            '    rt.aws("sqs").send_message(QueueUrl=rt.queue_url, MessageBody=body)\n'
        )
        return (
            ["from datetime import datetime"],
            [
                "from infra.local.scheduler import schedule_message",
                "from shared.spec import ScheduleTrigger",
                "from tests.support import dlq_messages, drain",
            ],
            deliver,
        )
    deliver = (
        "def deliver(rt: Runtime, sample: Sample) -> None:\n"
        '    """As an EventBridge rule would: the whole bus event as the queue message."""\n'
        "    event = {\n"
        '        "version": "0",\n'
        '        "id": str(uuid.uuid4()),\n'
        '        "detail-type": sample.detail_type,\n'
        '        "source": sample.source,\n'
        '        "account": "123456789012",\n'
        '        "time": "2026-11-21T09:14:05Z",\n'
        '        "region": "us-east-1",\n'
        '        "resources": [],\n'
        '        "detail": sample.detail,\n'
        "    }\n"
        '    rt.aws("sqs").send_message(QueueUrl=rt.queue_url, MessageBody=json.dumps(event))\n'
    )
    return ["import json", "import uuid"], ["from tests.support import dlq_messages, drain"], deliver


def _render(template: str, values: dict[str, str]) -> str:
    return Template((TEMPLATES / template).read_text(encoding="utf-8")).substitute(values)


def scaffold(
    name: str,
    trigger: str,
    app: str,
    out: TextIO,
    *,
    root: Path = ROOT,
    description: str | None = None,
    format_code: bool = True,
) -> Scaffold:
    """Write the integration ``name`` under ``root``; refuses to overwrite anything."""
    if not _NAME.match(name) or keyword.iskeyword(name) or "__" in name:
        raise CliError(
            f"{name!r} is not an integration name: 3-40 lower-case letters, digits and single underscores, "
            "starting with a letter (e.g. booking_reminders)"
        )
    if trigger not in TRIGGERS:
        raise CliError(f"--trigger {trigger!r}: choose one of {', '.join(TRIGGERS)}")
    known = apps()
    if app not in known:
        raise CliError(f"--app {app!r}: no such app in apps/; there are: {', '.join(known)}")
    kind: Trigger = trigger  # checked against TRIGGERS above (mypy narrows on the "in")
    targets = {
        "functions": root / "functions" / name,
        "events": root / "events" / name,
    }
    taken = [str(p.relative_to(root)) for p in targets.values() if p.exists()]
    if taken:
        raise CliError(f"{', '.join(taken)} already exist(s); choose another name or remove them first")

    imports, body, settings_fields, summary = _worker(kind, app)
    stdlib, first_party, deliver = _test_parts(kind)
    model = pascal(name) + ("Run" if kind == "schedule" else "Input")
    text = description or f"{_WAY_IN[kind].format(name=name)} -> {summary}"
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    values = {
        "name": name,
        "Model": model,
        "app": app,
        "connection": importlib.import_module(f"apps.{app}").CONNECTION.name,
        "trigger": kind,
        "trigger_doc": _TRIGGER_DOC[kind].format(name=name),
        "description": text.replace('"', "'"),
        "local_secret": secret,
        "imports": imports,
        "body": body.rstrip("\n"),
        "effect_summary": summary,
        "settings_fields": settings_fields or "",
        "models_import": f"{model}, Settings" if "settings: Settings" in body else model,
    }
    first = sorted(
        [
            "from infra.local.samples import Sample, load_samples",
            "from shared import trace",
            "from shared.registry import load_spec",
            "from shared.runtime import Runtime",
            *first_party,
        ],
        key=lambda line: line.split()[1],
    )
    header = "\n".join([*sorted(stdlib, key=lambda s: (s.startswith("from"), s)), "from typing import Any"])
    test_values = {**values, "test_imports": "", "support_imports": "", "deliver": deliver}
    test = _render("test.py.tmpl", test_values)
    test = test.replace("from typing import Any\n", header + "\n", 1)
    test = re.sub(
        r"from infra\.local\.samples import .*?\nfrom tests\.support import \n",
        "\n".join(first) + "\n",
        test,
        flags=re.S,
    )
    files = {
        targets["functions"] / "spec.py": _render(f"spec_{kind}.py.tmpl", values),
        targets["functions"] / "models.py": _render(f"models_{kind}.py.tmpl", values),
        targets["functions"] / "worker.py": _render("worker.py.tmpl", values),
        targets["functions"] / "README.md": _render("README.md.tmpl", values),
        targets["functions"] / "settings.local.json": "{}\n",
        targets["events"] / f"{_sample_name(kind)}.json": _render(f"sample_{kind}.json.tmpl", values),
        targets["functions"] / "__init__.py": f'"""{name}: see spec.py (the declaration) and README.md."""\n',
        targets["functions"] / "tests" / "__init__.py": "",
        targets["functions"] / "tests" / f"test_{name}.py": test,
    }
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    python = [p for p in files if p.suffix == ".py"]
    if format_code:
        format_python(root, python)
    written = tuple(sorted(p.relative_to(root) for p in files))
    print(f"created integration {name} ({kind} -> {app}):", file=out)
    for path in written:
        print(f"  {path}", file=out)
    print(
        f"\nNext: `make dev` replays events/{name}/ and serves it; `make test` runs its tests. "
        f"Then write the real payload (models.py) and work (worker.py); see functions/{name}/README.md.",
        file=out,
    )
    return Scaffold(name=name, files=written)


def _sample_name(trigger: Trigger) -> str:
    return {"webhook": "signed_event", "schedule": "daily_tick", "event": "lead_created"}[trigger]


def format_python(root: Path, files: list[Path]) -> None:
    """Sort imports and format exactly like ``make test`` checks (the generated code is then stable)."""
    paths = [str(p) for p in files]
    for args in (["check", "--fix", "--quiet", *paths], ["format", "--quiet", *paths]):
        subprocess.run([sys.executable, "-m", "ruff", *args], cwd=root, check=False, capture_output=True)
