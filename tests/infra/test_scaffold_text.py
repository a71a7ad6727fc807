"""What ``switchboard new`` writes says true things: no placeholder left unfilled, a description that
names the real way in and the app, and paths in the README that exist.

Fast and in-process (no formatting, no CDK): every trigger with a few apps - the two with ready-made
workers (HubSpot, Slack), one whose actions the worker only names (Square, QuickBooks) and one with
no action at all (Cal.com). ``test_scaffold.py`` proves the written code passes ``make test``.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from infra.ops.scaffold import TRIGGERS, scaffold
from tests.support import REPO

APPS = ("hubspot", "slack", "square", "quickbooks", "calcom")
#: ``{name}``-style (str.format), ``${name}`` (string.Template) and ``<name>`` placeholders, ellipses.
_PLACEHOLDER = re.compile(
    r"\$\{?\w+\}?|\{(name|app|Model|model|trigger|description|connection)\}|…|\.\.\.|<[a-z ]+>"
)
#: ``{x}`` that are not Python f-string fields: anything in the README or a sample.
_BRACES = re.compile(r"\{[A-Za-z_]\w*\}")
#: Backticked repository paths in the README.
_PATH = re.compile(r"`((?:apps|functions|events|shared)/[^`]*)`")


def _spec_description(text: str) -> str:
    found = re.search(r'^SPEC = IntegrationSpec\(.*?^    description="([^"]*)",$', text, re.M | re.S)
    assert found, text
    return found.group(1)


@pytest.mark.parametrize("trigger", TRIGGERS)
@pytest.mark.parametrize("app", APPS)
def test_nothing_the_scaffold_writes_is_left_unfilled(tmp_path: Path, trigger: str, app: str) -> None:
    name = f"my_{trigger}_{app}"
    done = scaffold(name, trigger, app, io.StringIO(), root=tmp_path, format_code=False)
    for relative in done.files:
        text = (tmp_path / relative).read_text(encoding="utf-8")
        left = [m.group(0) for m in _PLACEHOLDER.finditer(text)]
        assert not left, f"{relative}: {left}"
        if relative.suffix in (".md", ".json"):
            assert not _BRACES.findall(text), f"{relative}: {_BRACES.findall(text)}"

    spec = (tmp_path / "functions" / name / "spec.py").read_text(encoding="utf-8")
    description = _spec_description(spec)
    way_in = {
        "webhook": f"POST /hooks/{name} -> ",
        "schedule": "every day at 07:00 Europe/London -> ",
        "event": "lead.created on the Switchboard bus -> ",
    }[trigger]
    assert description.startswith(way_in), description
    assert app in description.lower(), f"{description!r} does not name {app}"
    readme = (tmp_path / "functions" / name / "README.md").read_text(encoding="utf-8")
    assert readme.splitlines()[2] == description

    for path in _PATH.findall(readme):
        base = tmp_path if path.startswith(("functions/", "events/")) else REPO
        assert (base / path).exists(), f"README names {path}, which is not there"


def test_a_given_description_is_used_as_it_is(tmp_path: Path) -> None:
    scaffold(
        "booking_nudge",
        "webhook",
        "hubspot",
        io.StringIO(),
        root=tmp_path,
        format_code=False,
        description='Nudges "late" bookers',
    )
    spec = (tmp_path / "functions" / "booking_nudge" / "spec.py").read_text(encoding="utf-8")
    assert _spec_description(spec) == "Nudges 'late' bookers"
