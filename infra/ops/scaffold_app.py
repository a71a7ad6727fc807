"""``switchboard new-app <name> [--auth bearer|header] [--title T] [--base-url URL]``: a working app package.

It writes ``apps/<name>/`` in the shape every app has - the cheap declaration (``__init__.py``), API
models, the typed client, the catalogue actions, the offline stand-in, tests and a README - and
nothing else: the local runtime mounts the stand-in, the catalogue lists the actions, the MCP
function offers them as tools and ``switchboard new --app <name>`` builds an integration on them,
all by discovery. What it writes passes ``make test`` as written, and an integration scaffolded on it
runs end to end in ``make dev`` before a line is changed.

The API it writes is a small records API (create with an ``Idempotency-Key``, read by id): the
pattern every effect follows, to be replaced by the real endpoints. OAuth 2.0 apps are not
scaffolded: their connection needs the provider's token endpoint and consent flow (see
``apps/quickbooks`` and ``apps/google_calendar``).
"""

from __future__ import annotations

import importlib.util
import keyword
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Final, Literal, TextIO

from infra.ops.scaffold import ROOT, TEMPLATES, format_python, pascal
from infra.ops.target import CliError

__all__ = ["AUTHS", "AppScaffold", "scaffold_app"]

Auth = Literal["bearer", "header"]
AUTHS: Final[tuple[Auth, ...]] = ("bearer", "header")
_NAME: Final = re.compile(r"^[a-z][a-z0-9_]{1,38}[a-z0-9]$")
_URL: Final = re.compile(r"^https://[A-Za-z0-9.-]+(:\d+)?(/[A-Za-z0-9._~/-]*)?$")
_APP_TEMPLATES: Final = TEMPLATES / "app"


@dataclass(frozen=True)
class AppScaffold:
    """What was written, relative to the repository root."""

    name: str
    files: tuple[Path, ...]


def _auth_values(auth: Auth, name: str) -> dict[str, str]:
    if auth == "bearer":
        return {
            "auth_fields": 'token_field="token",\n    ',
            "auth_doc": "a bearer token (``Authorization: Bearer <token>``)",
            "token_field": "token",
            "authorize": (
                'if req.header("authorization") != f"Bearer {self.token}":\n'
                '            return _error(401, "unauthorized", "a valid bearer token is required")\n'
                "        return None"
            ),
            "connection_doc": "field `token`, the API token",
        }
    return {
        "auth_fields": 'auth_header="x-api-key",\n    token_field="api_key",\n    ',
        "auth_doc": "an API key header (``X-API-Key: <key>``)",
        "token_field": "api_key",
        "authorize": (
            'if req.header("x-api-key") != self.token:\n'
            '            return _error(401, "unauthorized", "a valid X-API-Key header is required")\n'
            "        return None"
        ),
        "connection_doc": "field `api_key`, the API key",
    }


def _check(name: str, auth: str, base_url: str | None, root: Path) -> None:
    if not _NAME.match(name) or keyword.iskeyword(name) or "__" in name:
        raise CliError(
            f"{name!r} is not an app name: 3-40 lower-case letters, digits and single underscores, "
            "starting with a letter (e.g. acme_crm)"
        )
    if auth not in AUTHS:
        raise CliError(
            f"--auth {auth!r}: choose one of {', '.join(AUTHS)} (OAuth 2.0 apps are written by hand)"
        )
    if base_url is not None and not _URL.match(base_url):
        raise CliError(
            f"--base-url {base_url!r}: give the API's https:// base URL, e.g. https://api.acme.com"
        )
    if (root / "apps" / name).exists():
        raise CliError(f"apps/{name} already exists; choose another name or remove it first")
    if root == ROOT and importlib.util.find_spec(name) is not None:
        raise CliError(f"{name!r} is already the name of an installed module; choose another name")


def scaffold_app(
    name: str,
    out: TextIO,
    *,
    auth: str = "bearer",
    title: str | None = None,
    base_url: str | None = None,
    root: Path = ROOT,
    format_code: bool = True,
) -> AppScaffold:
    """Write the app package ``apps/<name>/`` under ``root``; refuses to overwrite anything."""
    _check(name, auth, base_url, root)
    kind: Auth = "bearer" if auth == "bearer" else "header"
    display = (title or name.replace("_", " ").title()).replace('"', "'")
    values = {
        "name": name,
        "Pascal": pascal(name),
        "title": display,
        "auth": kind,
        "base_url": base_url or f"https://api.{name.replace('_', '-')}.example",
        **_auth_values(kind, name),
    }
    folder = root / "apps" / name
    files = {
        folder / "__init__.py": "__init__.py.tmpl",
        folder / "models.py": "models.py.tmpl",
        folder / "client.py": "client.py.tmpl",
        folder / "actions.py": "actions.py.tmpl",
        folder / "standin.py": "standin.py.tmpl",
        folder / "README.md": "README.md.tmpl",
        folder / "tests" / f"test_{name}.py": "test_app.py.tmpl",
    }
    written: dict[Path, str] = {
        path: Template((_APP_TEMPLATES / template).read_text(encoding="utf-8")).substitute(values)
        for path, template in files.items()
    }
    written[folder / "tests" / "__init__.py"] = ""
    for path, content in written.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    if format_code:
        format_python(root, [p for p in written if p.suffix == ".py"])
    paths = tuple(sorted(p.relative_to(root) for p in written))
    print(f"created app {name} ({display}, {kind} auth):", file=out)
    for path in paths:
        print(f"  {path}", file=out)
    print(
        f"\nNext: `make test` runs its tests; `switchboard new <integration> --trigger webhook --app {name}` "
        f"builds a flow on its actions. Then replace the records API with {display}'s real endpoints "
        f"(client.py, models.py, standin.py); see apps/{name}/README.md.",
        file=out,
    )
    return AppScaffold(name=name, files=paths)
