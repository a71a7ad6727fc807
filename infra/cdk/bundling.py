"""Lambda code and the dependency layer, bundled on the host - no Docker.

There is no Docker engine where Switchboard is built, so both assets use CDK's local bundling hook
(:class:`aws_cdk.ILocalBundling`). ``try_bundle`` returns ``True`` after writing the asset, so the
Docker image CDK insists on being named is never pulled.

* The **function code** of one integration is the connector layer (``shared/``), the runtime part
  of the app packages (``apps/``: never a stand-in, chaos hooks, samples or tests),
  ``functions/__init__.py`` and that integration's own folder (never its chaos generators) - not the
  other integrations, so a change to one integration redeploys only its function.
* The **dependency layer** is ``pip install --platform manylinux2014_aarch64 --only-binary=:all:
  --python-version 3.14`` of ``[project].dependencies`` from ``pyproject.toml`` (the single list of
  runtime dependencies), constrained by ``requirements.lock``. Only prebuilt wheels for the Lambda
  platform are accepted, so nothing is compiled for the host by mistake.

Both assets carry a hash computed from their inputs (``AssetHashType.CUSTOM``) instead of a
fingerprint of the source directory: the source directory is the repository root, and fingerprinting
it would walk ``.venv`` and ``node_modules``. A known hash also lets CDK reuse ``cdk.out/asset.<hash>``
from an earlier synth, so the layer's ``pip install`` runs only when its inputs change (and a re-synth
works offline).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

__all__ = [
    "ARCHITECTURE",
    "PIP_PLATFORM",
    "ROOT",
    "RUNTIME",
    "FunctionCodeBundler",
    "LayerBundler",
    "common_files",
    "function_code",
    "function_files",
    "layer_code",
    "lock_pins",
    "runtime_dependencies",
]

#: The repository root (``infra/cdk/bundling.py`` -> ``.``).
ROOT = Path(__file__).resolve().parents[2]

#: The Lambda runtime and architecture; the pip flags below must describe the same platform.
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
PIP_PLATFORM = "manylinux2014_aarch64"
PIP_PYTHON_VERSION = RUNTIME.name.removeprefix("python")

# Bumped when what the bundlers produce changes for the same inputs, to invalidate cached assets.
_BUNDLER_VERSION = "2"
_EXCLUDED_DIRS = frozenset({"__pycache__", "tests", ".mypy_cache", ".pytest_cache", ".ruff_cache"})
# What an app package holds for the local runtime, the chaos harness, the operator's CLI
# (``subscriptions.py``: webhook registration) and the tests only - never a function's code.
_APP_LOCAL_ONLY = frozenset({"standin", "standin.py", "chaos.py", "subscriptions.py", "samples"})
# What an integration's folder holds for the chaos harness only (its event generators).
_FUNCTION_LOCAL_ONLY = frozenset({"chaos.py"})
_EXCLUDED_SUFFIXES = (".pyc", ".pyo")
# ``settings.local.json`` and friends configure ``make dev``; on AWS settings come from CDK context.
_EXCLUDED_NAME_PARTS = (".local.",)
# CDK wants an image even when local bundling succeeds; it is never pulled because try_bundle
# returns True (or raises).
_UNUSED_IMAGE = cdk.DockerImage.from_registry("unused-local-bundling")


def function_files(integration: str, root: Path = ROOT) -> list[Path]:
    """The files of one integration's function asset, relative to ``root``, sorted."""
    folder = root / "functions" / integration
    if not (folder / "spec.py").is_file():
        raise FileNotFoundError(f"{folder}/spec.py does not exist")
    own_files = [rel for rel in _walk(root, folder) if rel.name not in _FUNCTION_LOCAL_ONLY]
    return sorted({*common_files(root), *own_files})


def common_files(root: Path = ROOT) -> list[Path]:
    """What every function asset holds: ``shared/``, the runtime part of ``apps/``, ``functions/__init__.py``."""
    app_files = [
        rel for rel in _walk(root, root / "apps") if not any(part in _APP_LOCAL_ONLY for part in rel.parts)
    ]
    return sorted({*_walk(root, root / "shared"), *app_files, Path("functions/__init__.py")})


def _walk(root: Path, folder: Path) -> Iterator[Path]:
    for path in folder.rglob("*"):
        rel = path.relative_to(root)
        if any(part in _EXCLUDED_DIRS for part in rel.parts) or not path.is_file():
            continue
        if path.suffix in _EXCLUDED_SUFFIXES or any(p in path.name for p in _EXCLUDED_NAME_PARTS):
            continue
        yield rel


@jsii.implements(cdk.ILocalBundling)
class FunctionCodeBundler:
    """Copies :func:`function_files` into the asset directory, keeping the package layout.

    The handler is ``shared.entry.handler`` and specs are imported as ``functions.<name>.spec``, so
    the asset root holds ``shared/``, ``apps/`` and ``functions/`` exactly as the repository does.
    """

    def __init__(self, integration: str, root: Path = ROOT) -> None:
        self.integration = integration
        self.root = root

    def try_bundle(self, output_dir: str, *, image: cdk.DockerImage, **_options: Any) -> bool:
        out = Path(output_dir)
        for rel in function_files(self.integration, self.root):
            dest = out / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self.root / rel, dest)
        return True


def function_code(integration: str, root: Path = ROOT) -> lambda_.Code:
    """The code asset of one integration's function."""
    digest = hashlib.sha256(f"function:{_BUNDLER_VERSION}:{integration}".encode())
    for rel in function_files(integration, root):
        digest.update(rel.as_posix().encode() + b"\x00")
        digest.update((root / rel).read_bytes() + b"\x00")
    return lambda_.Code.from_asset(
        str(root),
        asset_hash=digest.hexdigest(),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        bundling=cdk.BundlingOptions(image=_UNUSED_IMAGE, local=FunctionCodeBundler(integration, root)),
    )


def runtime_dependencies(root: Path = ROOT) -> list[str]:
    """``[project].dependencies`` of ``pyproject.toml``: what the Lambda functions import."""
    with (root / "pyproject.toml").open("rb") as fh:
        deps = tomllib.load(fh)["project"]["dependencies"]
    return [str(d) for d in deps]


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins(root: Path = ROOT) -> dict[str, str]:
    """``requirements.lock`` as ``{normalized name: version}``."""
    pins: dict[str, str] = {}
    for raw in (root / "requirements.lock").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep:
            raise ValueError(f"requirements.lock: {line!r} is not pinned with ==")
        pins[_normalize(name.split("[", 1)[0])] = version.strip()
    return pins


@jsii.implements(cdk.ILocalBundling)
class LayerBundler:
    """``pip install``s the runtime dependencies for the Lambda platform into ``<out>/python``.

    Fails synthesis with pip's own message when a wheel is missing for the platform (returning
    ``False`` would only make CDK try Docker, which is absent, and hide the reason). After the install
    every distribution in the layer must be pinned in ``requirements.lock``: a transitive dependency
    the lock does not pin would make the layer differ between two builds of the same commit.
    """

    def __init__(self, root: Path = ROOT) -> None:
        self.root = root

    def command(self, target: Path) -> list[str]:
        return [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",  # the host's .pyc would be for the host's Python, not the runtime's
            "--platform",
            PIP_PLATFORM,
            "--only-binary=:all:",
            "--python-version",
            PIP_PYTHON_VERSION,
            "--implementation",
            "cp",
            "--target",
            str(target),
            "--constraint",
            str(self.root / "requirements.lock"),
            *runtime_dependencies(self.root),
        ]

    def try_bundle(self, output_dir: str, *, image: cdk.DockerImage, **_options: Any) -> bool:
        target = Path(output_dir) / "python"
        proc = subprocess.run(self.command(target), capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(
                f"building the dependency layer failed (pip exit {proc.returncode}):\n{proc.stderr[-4000:]}"
            )
        # Console scripts carry the host interpreter's path and are useless on Lambda.
        shutil.rmtree(target / "bin", ignore_errors=True)
        for cache in list(target.rglob("__pycache__")):
            shutil.rmtree(cache, ignore_errors=True)
        pins = lock_pins(self.root)
        unpinned = sorted(
            name
            for name in (_normalize(d.name.split("-", 1)[0]) for d in target.glob("*.dist-info"))
            if name not in pins
        )
        if unpinned:
            raise RuntimeError(
                f"the dependency layer holds packages requirements.lock does not pin: {unpinned}"
            )
        return True


def layer_code(root: Path = ROOT) -> lambda_.Code:
    """The dependency layer's asset; its hash covers every input of the pip install."""
    inputs = {
        "bundler": _BUNDLER_VERSION,
        "platform": PIP_PLATFORM,
        "python": PIP_PYTHON_VERSION,
        "dependencies": runtime_dependencies(root),
        "lock": (root / "requirements.lock").read_text(),
    }
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    return lambda_.Code.from_asset(
        str(root),
        asset_hash=digest,
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        bundling=cdk.BundlingOptions(image=_UNUSED_IMAGE, local=LayerBundler(root)),
    )
