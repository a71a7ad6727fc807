"""``switchboard new`` and ``switchboard new-app``: what they write passes ``make test`` as written, and
the CDK app and the local runtime pick it up with no other change.

A freshly scaffolded app (``new-app acme_crm``) with an integration built on it (``new acme_sync
--app acme_crm``) is served and run end to end: the local runtime mounts the app's stand-in, and a
signed webhook ends as one record in it. Each new integration's own sample runs through
``switchboard invoke`` as the scaffold's next step says, from the way in to the worker's end.

Scaffolds into a copy of the repository's source tree (never the checkout itself), then runs there
what ``make test`` runs on the new files - ruff, ruff format, mypy strict, pytest - and synthesizes
the CDK app (bundling skipped) to find the new function.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.conftest import CDK_ENV
from tests.support import REPO

pytestmark = pytest.mark.cdk

NEW_APP = "acme_crm"
CASES = [
    ("booking_nudge", "webhook", "hubspot"),
    ("morning_digest", "schedule", "slack"),
    ("lead_sync", "event", "square"),
    ("acme_sync", "webhook", NEW_APP),
]
_SYNTH = """
import json, sys
from pathlib import Path
from infra.cdk.app import build_app, stack_names
context = {**json.loads(Path("cdk.json").read_text())["context"], "aws:cdk:bundling-stacks": []}
app = build_app(context, None, outdir=sys.argv[1])
try:
    app.synth()
except RuntimeError:
    pass  # settings warnings of other integrations; the templates are written
found = {}
for stack in stack_names(str(context.get("stage", "dev"))):
    template = json.loads((Path(sys.argv[1]) / f"{stack}.template.json").read_text())
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            env = resource["Properties"].get("Environment", {}).get("Variables", {})
            found[env.get("SWITCHBOARD_INTEGRATION")] = resource["Properties"].get("FunctionName")
print(json.dumps(found))
"""


def _run(cwd: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env={**CDK_ENV, "PATH": "/usr/bin:/bin:/usr/local/bin", "PYTHONPATH": str(cwd), "HOME": str(cwd)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the source tree with every case scaffolded by the CLI, as a developer would."""
    root = tmp_path_factory.mktemp("repo")
    ignore = shutil.ignore_patterns("__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache")
    for folder in ("shared", "apps", "functions", "infra", "sandbox", "events"):
        shutil.copytree(REPO / folder, root / folder, ignore=ignore)
    (root / "tests").mkdir()
    for name in ("__init__.py", "support.py"):
        shutil.copy(REPO / "tests" / name, root / "tests" / name)
    for name in ("conftest.py", "pyproject.toml", "cdk.json", "requirements.lock"):
        shutil.copy(REPO / name, root / name)
    done = _run(root, "-m", "infra.cli", "new-app", NEW_APP, "--title", "Acme CRM")
    assert done.returncode == 0, done.stderr
    assert f"created app {NEW_APP}" in done.stdout
    for name, trigger, app in CASES:
        done = _run(root, "-m", "infra.cli", "new", name, "--trigger", trigger, "--app", app)
        assert done.returncode == 0, done.stderr
        assert f"created integration {name}" in done.stdout
    return root


def _files(tree: Path) -> list[str]:
    return [str(p) for name, _, _ in CASES for p in (tree / "functions" / name,)] + [
        str(tree / "apps" / NEW_APP)
    ]


def test_it_writes_the_folder_the_sample_and_the_tests(tree: Path) -> None:
    for name, _, _ in CASES:
        written = {p.name for p in (tree / "functions" / name).iterdir()}
        assert {"spec.py", "models.py", "worker.py", "README.md", "settings.local.json"} <= written
        assert list((tree / "events" / name).glob("*.json"))
        assert (tree / "functions" / name / "tests" / f"test_{name}.py").exists()


def test_the_new_files_pass_ruff_format_and_mypy_strict(tree: Path) -> None:
    ruff = [str(Path(sys.executable).parent / "ruff")]
    for args in (["check", *_files(tree)], ["format", "--check", *_files(tree)]):
        done = subprocess.run([*ruff, *args], cwd=tree, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    done = _run(tree, "-m", "mypy", "--strict", "--cache-dir", str(tree / ".mypy_cache"), *_files(tree))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_generated_tests_pass(tree: Path) -> None:
    paths = [str(tree / "functions" / name / "tests") for name, _, _ in CASES]
    paths.append(str(tree / "apps" / NEW_APP / "tests"))
    done = _run(tree, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", *paths)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "passed" in done.stdout


def test_the_cdk_app_builds_each_new_function(tree: Path, tmp_path: Path) -> None:
    done = _run(tree, "-c", _SYNTH, str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    functions = json.loads(done.stdout.strip().splitlines()[-1])
    for name, _, _ in CASES:
        assert functions[name] == f"switchboard-dev-{name.replace('_', '-')}"


def test_the_local_runtime_serves_a_new_webhook(tree: Path) -> None:
    script = (
        "import httpx\n"
        "from infra.local.runtime import LocalRuntime\n"
        "with LocalRuntime(port=0, pollers=False, state_file=None, log_dir=None) as rt:\n"
        "    print(httpx.post(rt.url + '/hooks/booking_nudge', json={}).status_code)\n"
        "    print(sorted(r['integration'] for r in rt.gateway.routes()))\n"
    )
    done = _run(tree, "-c", script)
    assert done.returncode == 0, done.stderr[-3000:]
    status, routes = done.stdout.strip().splitlines()[-2:]
    assert status == "401"  # served, and the signature is checked
    assert "booking_nudge" in routes


def test_refusals_say_what_to_fix(tree: Path) -> None:
    taken = _run(tree, "-m", "infra.cli", "new", "booking_nudge", "--trigger", "webhook", "--app", "hubspot")
    assert taken.returncode == 2 and "already exist" in taken.stderr
    bad_app = _run(tree, "-m", "infra.cli", "new", "x_sync", "--trigger", "webhook", "--app", "nope")
    assert bad_app.returncode == 2 and "there are:" in bad_app.stderr and "hubspot" in bad_app.stderr
    bad_name = _run(tree, "-m", "infra.cli", "new", "Bad-Name", "--trigger", "webhook", "--app", "slack")
    assert bad_name.returncode == 2 and "not an integration name" in bad_name.stderr


def test_new_app_writes_one_folder_in_the_app_shape(tree: Path) -> None:
    written = {
        p.relative_to(tree / "apps" / NEW_APP).as_posix() for p in (tree / "apps" / NEW_APP).rglob("*.py")
    }
    assert written == {
        "__init__.py",
        "models.py",
        "client.py",
        "actions.py",
        "standin.py",
        "tests/__init__.py",
        f"tests/test_{NEW_APP}.py",
    }
    worker = (tree / "functions" / "acme_sync" / "worker.py").read_text()
    assert f"from apps.{NEW_APP}.actions import CREATE_RECORD" in worker
    assert "TODO" not in worker


def test_the_catalogue_and_the_stand_ins_find_the_new_app(tree: Path) -> None:
    script = (
        "from shared.actions import catalogue\n"
        "from sandbox.registry import sandbox_classes\n"
        "print(sorted(a.name for a in catalogue() if a.app == 'acme_crm'))\n"
        "print('acme_crm' in sandbox_classes())\n"
    )
    done = _run(tree, "-c", script)
    assert done.returncode == 0, done.stderr[-3000:]
    actions, standin = done.stdout.strip().splitlines()[-2:]
    assert actions == "['acme_crm.create_record', 'acme_crm.get_record']"
    assert standin == "True"


def test_a_new_app_and_its_integration_run_end_to_end(tree: Path) -> None:
    """Served by the local runtime: a signed webhook, sent twice as a provider re-sends, becomes one
    record in the new app's stand-in (the runtime's state file in the tree tells ``send`` its secret)."""
    script = (
        "import time, httpx\n"
        "from infra.cli import main\n"
        "from infra.local.runtime import LocalRuntime\n"
        "with LocalRuntime(port=0, log_dir=None) as rt:\n"
        "    for _ in range(2):\n"
        "        assert main(['send', 'acme_sync', 'events/acme_sync/signed_event.json']) == 0\n"
        "    deadline = time.monotonic() + 60\n"
        "    records = []\n"
        "    while time.monotonic() < deadline and not records:\n"
        "        records = httpx.get(rt.url + '/_sandbox/acme_crm/_state', timeout=5).json()['records']\n"
        "        time.sleep(0.2)\n"
        "    time.sleep(2)\n"
        "    records = httpx.get(rt.url + '/_sandbox/acme_crm/_state', timeout=5).json()['records']\n"
        "    print(len(records), records[0]['title'] if records else '-')\n"
    )
    done = _run(tree, "-c", script, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "1 Priya Shah"


@pytest.mark.parametrize(("name", "trigger", "app"), CASES)
def test_invoke_runs_a_new_integrations_own_sample_to_the_end(
    name: str, trigger: str, app: str, tree: Path
) -> None:
    """What a newcomer does next: ``switchboard invoke <name> events/<name>/<its sample>.json``. The
    webhook's sample is signed with the local secret, so it must pass the signature check, be queued
    and be processed by the new worker - not stop at the ingress."""
    (sample,) = (tree / "events" / name).glob("*.json")
    path = sample.relative_to(tree).as_posix()
    done = _run(tree, "-m", "infra.cli", "invoke", name, path, "--json", timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["ok"] and report["status"] == "processed", report
    assert report["errors"] == [] and report["pending"] == 0
    assert report["events"] and {e["status"] for e in report["events"].values()} == {"processed"}
    if trigger == "webhook":
        assert path == f"events/{name}/signed_event.json"
        assert report["answer"]["statusCode"] == 202  # signature accepted, queued
        plain = _run(tree, "-m", "infra.cli", "invoke", name, path, timeout=300)
        assert plain.returncode == 0, plain.stdout[-3000:] + plain.stderr[-3000:]
        said = plain.stdout.splitlines()
        assert any(line.split()[:2] == ["result", "processed"] for line in said if line.strip()), plain.stdout
        assert any("✔ processed" in line for line in said), plain.stdout


def test_new_app_refusals_say_what_to_fix(tree: Path) -> None:
    taken = _run(tree, "-m", "infra.cli", "new-app", NEW_APP)
    assert taken.returncode == 2 and "already exists" in taken.stderr
    bad = _run(tree, "-m", "infra.cli", "new-app", "Acme-CRM")
    assert bad.returncode == 2 and "is not an app name" in bad.stderr
    oauth = _run(tree, "-m", "infra.cli", "new-app", "other_crm", "--auth", "oauth2")
    assert oauth.returncode == 2 and "oauth2" in oauth.stderr
    assert not (tree / "apps" / "other_crm").exists()
