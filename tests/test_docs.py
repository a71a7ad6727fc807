"""The documentation stays true: README.md and docs/ name only what exists.

Docs drift without a sound: a module moves, a command is renamed, a make target goes, and the page
still reads well. Every page is checked for links to missing files or headings, ``switchboard``
commands the CLI does not have, ``make`` targets the Makefile does not have, and repository paths
that match nothing (``<placeholders>`` and ``*`` match any one name). The README must stay short and
list every integration and every app. Each check is a function of a markdown text, so the last tests
feed them a deliberately broken page and watch them fail.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = REPO / "docs"
PAGES = (README, *sorted(DOCS.rglob("*.md")))
README_LIMIT_BYTES = 10_000
#: A code span token starting with one of these and a ``/`` names a repository path.
PATH_ROOTS = ("shared", "apps", "functions", "infra", "sandbox", "tests", "events", "benchmarks", "docs")
_NOT_SOURCE = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"})

_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
_SPAN = re.compile(r"`([^`\n]+(?:\n[^`\n]+)*)`")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*$", re.M)
_SWITCHBOARD = re.compile(r"(?<![\w.-])switchboard[ \t]+(\S+)(?:[ \t]+(\S+))?")
_MAKE = re.compile(r"(?<![\w.-])make[ \t]+([A-Za-z][\w-]*)")
_PATH = re.compile(rf"(?<![\w./<>-])((?:{'|'.join(PATH_ROOTS)})/[\w./<>*-]*)")
_WORD = re.compile(r"[a-z][a-z0-9-]*")
_MAKE_TARGET = re.compile(r"^([A-Za-z0-9][\w.-]*)[ \t]*:(?!=)", re.M)


# --- what exists -------------------------------------------------------------------------------------


@cache
def cli_commands() -> dict[str, frozenset[str]]:
    """Every ``switchboard`` command and its sub-commands, read from the CLI's own parser."""
    from infra.cli import GROUPS
    from infra.cli.core import build_parser

    return {name: frozenset(_subparsers(sub)) for name, sub in _subparsers(build_parser(GROUPS)).items()}


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


@cache
def make_targets() -> frozenset[str]:
    return frozenset(_MAKE_TARGET.findall((REPO / "Makefile").read_text(encoding="utf-8")))


@cache
def repo_paths() -> frozenset[str]:
    """Every file and folder under the roots a doc may name, as ``apps/hubspot/client.py``."""
    found: set[str] = set()
    for root in PATH_ROOTS:
        for folder, dirs, files in os.walk(REPO / root):
            dirs[:] = [d for d in dirs if d not in _NOT_SOURCE]
            here = Path(folder).relative_to(REPO).as_posix()
            found.add(here)
            found.update(f"{here}/{name}" for name in files)
    return frozenset(found)


def integrations() -> list[str]:
    return sorted(p.parent.name for p in (REPO / "functions").glob("*/spec.py"))


def apps() -> list[str]:
    return sorted(p.parent.name for p in (REPO / "apps").glob("*/__init__.py") if p.parent.name[0] != "_")


# --- reading a page ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """A markdown text split into prose (where links are links) and code (where names are named)."""

    prose: str
    code: tuple[str, ...]
    #: The anchors of its headings (code spans in a heading are part of its anchor).
    anchors: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> Page:
        blocks = [m.group(1) for m in _FENCE.finditer(text)]
        rest = _FENCE.sub("\n", text)
        spans = [m.group(1) for m in _SPAN.finditer(rest)]
        anchors = frozenset(slug(h) for h in _HEADING.findall(rest))
        return cls(prose=_SPAN.sub(" ", rest), code=(*blocks, *spans), anchors=anchors)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.replace("`", "").strip().lower()).replace(" ", "-")


def _pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"(<[^>]*>|\*)", path)
    return re.compile(
        "".join("[^/]+" if p.startswith("<") else "[^/]*" if p == "*" else re.escape(p) for p in parts)
    )


# --- the checks --------------------------------------------------------------------------------------


def broken_links(page: Page, where: Path) -> list[str]:
    problems = []
    for target in _LINK.findall(page.prose):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: - not ours to check
            continue
        file_part, _, anchor = target.partition("#")
        if not file_part:  # a section of this page
            if anchor not in page.anchors:
                problems.append(f"link {target}: no heading #{anchor} on this page")
            continue
        path = (where.parent / file_part).resolve()
        if REPO not in path.parents:
            problems.append(f"link {target}: outside the repository")
        elif not path.exists():
            problems.append(f"link {target}: no such file")
        elif (
            anchor
            and path.suffix == ".md"
            and anchor not in Page.parse(path.read_text(encoding="utf-8")).anchors
        ):
            problems.append(f"link {target}: no heading #{anchor} in {path.relative_to(REPO)}")
    return problems


def unknown_commands(page: Page) -> list[str]:
    commands = cli_commands()
    problems = []
    for code in page.code:
        for first, second in _SWITCHBOARD.findall(code):
            command = first.rstrip(".,;:)`")
            if not _WORD.fullmatch(command):
                continue  # an option, a <placeholder> or punctuation: no command named
            if command not in commands:
                problems.append(f"`switchboard {command}`: no such command")
                continue
            subcommands = commands[command]
            for sub in second.rstrip(".,;:)`").split("|") if subcommands else ():
                if _WORD.fullmatch(sub) and sub not in subcommands:
                    problems.append(f"`switchboard {command} {sub}`: no such sub-command")
    return problems


def unknown_make_targets(page: Page) -> list[str]:
    targets = make_targets()
    return [
        f"`make {target}`: no such target in the Makefile"
        for code in page.code
        for target in _MAKE.findall(code)
        if target not in targets
    ]


def missing_paths(page: Page) -> list[str]:
    paths = repo_paths()
    problems = []
    for code in page.code:
        for named in _PATH.findall(code):
            wanted = named.rstrip(".,;:").rstrip("/")
            if wanted in paths:
                continue
            pattern = _pattern(wanted)
            if not any(pattern.fullmatch(p) for p in paths):
                problems.append(f"`{named}`: no such path in the repository")
    return problems


def check_page(text: str, where: Path) -> list[str]:
    """Everything wrong with one page (``where`` says where its relative links start)."""
    page = Page.parse(text)
    return [
        *broken_links(page, where),
        *unknown_commands(page),
        *unknown_make_targets(page),
        *missing_paths(page),
    ]


def missing_from_table(text: str, names: Iterable[str], link: str) -> list[str]:
    """The names that no table row of ``text`` links to as ``link`` (``{}`` is the name)."""
    rows = "\n".join(line for line in text.splitlines() if line.startswith("|"))
    return [name for name in names if f"[`{name}`]({link.format(name)})" not in rows]


def oversized(text: str, limit: int = README_LIMIT_BYTES) -> bool:
    return len(text.encode("utf-8")) >= limit


# --- the tests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_the_page_names_only_what_exists(page: Path) -> None:
    assert check_page(page.read_text(encoding="utf-8"), page) == []


def test_the_readme_stays_short() -> None:
    size = len(README.read_bytes())
    assert not oversized(README.read_text(encoding="utf-8")), (
        f"README.md is {size} bytes; move detail to docs/"
    )


def test_the_readme_lists_every_integration_and_every_app() -> None:
    text = README.read_text(encoding="utf-8")
    assert integrations(), "no functions/*/spec.py found"
    assert missing_from_table(text, integrations(), "functions/{}/README.md") == []
    assert missing_from_table(text, apps(), "apps/{}/") == []


def test_the_index_links_every_page() -> None:
    index = Page.parse((DOCS / "index.md").read_text(encoding="utf-8"))
    linked = {(DOCS / target.partition("#")[0]).resolve() for target in _LINK.findall(index.prose)}
    pages = [p for p in DOCS.glob("*.md") if p.name != "index.md"]
    assert pages
    assert [p.name for p in pages if p.resolve() not in linked] == []
    assert "docs/index.md" in _LINK.findall(Page.parse(README.read_text(encoding="utf-8")).prose)


BROKEN = """\
# A page gone stale

See [the old page](no-such-page.md), [a section](index.md#no-such-section) and [here](#nor-here).
Run `switchboard frobnicate --now`, `switchboard dlq explode` or `make no-such-target`.
The client is in `shared/apps/hubspot.py`; stand-ins in `apps/<app>/sandbox.py`.

```sh
switchboard keys create|list|vanish
```
"""

SOUND = """\
# A page that holds

## Where `switchboard` things are

See [the index](index.md), [its runbooks](runbooks/) and [this section](#where-switchboard-things-are).
Run `switchboard dlq list`, `switchboard keys create|list|revoke`, `switchboard <command> --help`,
`make dev` or `make dev PORT=9000`. Stand-ins are `apps/<app>/standin*`, integrations
`functions/<name>/spec.py`, their samples `events/<name>/*.json`; not a path: `.switchboard/logs/`.

```sh
switchboard trace <event id> --since 7d   # and then make test
```
"""


def test_the_checks_catch_a_broken_page() -> None:
    problems = check_page(BROKEN, DOCS / "stale.md")
    assert problems == [
        "link no-such-page.md: no such file",
        "link index.md#no-such-section: no heading #no-such-section in docs/index.md",
        "link #nor-here: no heading #nor-here on this page",
        "`switchboard keys vanish`: no such sub-command",
        "`switchboard frobnicate`: no such command",
        "`switchboard dlq explode`: no such sub-command",
        "`make no-such-target`: no such target in the Makefile",
        "`shared/apps/hubspot.py`: no such path in the repository",
        "`apps/<app>/sandbox.py`: no such path in the repository",
    ]
    assert check_page(SOUND, DOCS / "sound.md") == []


def test_the_readme_checks_catch_a_long_or_incomplete_readme() -> None:
    assert oversized("x" * README_LIMIT_BYTES)
    assert not oversized("x" * (README_LIMIT_BYTES - 1))
    names: Sequence[str] = ("website_to_crm", "stock_level")
    link = "functions/{}/README.md"
    table = "| [`website_to_crm`](functions/website_to_crm/README.md) | … |\n"
    assert missing_from_table(table, names, link) == ["stock_level"]
    not_a_table = "[`website_to_crm`](functions/website_to_crm/README.md)"
    assert missing_from_table(not_a_table, names, link) == ["website_to_crm", "stock_level"]
