"""Finds the integrations: every ``functions/<name>/spec.py`` that defines ``SPEC``.

Adding an integration is adding a folder; nothing else lists them. The CDK app, the local runtime,
the CLI and the docs all iterate :func:`load_specs`.
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path

from shared.spec import IntegrationSpec

__all__ = ["FUNCTIONS_DIR", "load_spec", "load_specs"]

FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "functions"


def load_spec(name: str) -> IntegrationSpec:
    module = importlib.import_module(f"functions.{name}.spec")
    spec = getattr(module, "SPEC", None)
    if not isinstance(spec, IntegrationSpec):
        raise TypeError(f"functions/{name}/spec.py must define SPEC = IntegrationSpec(...)")
    if spec.name != name:
        raise ValueError(f"functions/{name}/spec.py declares name {spec.name!r}; it must match the folder")
    return spec


@cache
def load_specs(functions_dir: Path = FUNCTIONS_DIR) -> tuple[IntegrationSpec, ...]:
    """All specs, sorted by name."""
    names = sorted(
        p.parent.name for p in functions_dir.glob("*/spec.py") if not p.parent.name.startswith(("_", "."))
    )
    return tuple(load_spec(n) for n in names)
