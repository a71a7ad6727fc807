"""The CDK app: ``Switchboard-<stage>-core`` and ``Switchboard-<stage>-integrations``.

Run by the CDK CLI (``cdk.json``: ``python -m infra.cdk.app``) or built in-process by tests through
:func:`build_app`. The integrations are whatever :func:`shared.registry.load_specs` finds; nothing
here names one.

Context:

* ``stage`` (default ``dev``) - part of every stack and resource name;
* ``settings`` - ``{"<integration>": {...}}``, the non-secret settings of each integration, validated
  against its spec's settings model and given to its function as ``SWITCHBOARD_SETTINGS``;
* ``alarm_email``, ``runbook_base_url``, ``tracing`` - see :mod:`infra.cdk.config`.

A synthesis that cannot be deployed fails: an integration that sends email without a From address
is an error annotation on every stage (``cdk synth`` exits non-zero, ``cdk deploy`` does not start),
and prod refuses missing required settings outright.

cdk-nag's AWS Solutions rules run as a validation plugin on every synthesis; an unacknowledged
finding fails it (see :mod:`infra.cdk.nag` for the acknowledged ones).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.cdk.config import StageConfig
from infra.cdk.core import CoreStack
from infra.cdk.integrations_stack import CodeFactory, IntegrationsStack
from infra.cdk.naming import stack_names
from shared.registry import load_specs
from shared.spec import IntegrationSpec

__all__ = ["build_app", "main", "stack_names"]


def build_app(
    context: Mapping[str, Any] | None = None,
    specs: Sequence[IntegrationSpec] | None = None,
    *,
    code: CodeFactory | None = None,
    outdir: str | None = None,
) -> cdk.App:
    """The whole app. ``specs`` defaults to every spec in ``functions/``; ``code`` to the bundled asset."""
    app = cdk.App(context=dict(context or {}), outdir=outdir)
    config = StageConfig.from_node(app.node)
    specs = tuple(load_specs() if specs is None else specs)
    core_name, integrations_name = stack_names(config.stage)

    core = CoreStack(app, core_name, config=config, specs=specs)
    integrations = IntegrationsStack(
        app, integrations_name, config=config, specs=specs, core=core.resources, code=code
    )
    integrations.add_stack_dependency(core, "imports the bus, the table and the alarm topic")

    cdk.Tags.of(app).add("project", "switchboard")
    cdk.Tags.of(app).add("switchboard:stage", config.stage)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def main() -> None:
    try:
        build_app().synth()
    except (ValueError, TypeError) as exc:  # a spec, setting or context the stage cannot be built from
        sys.exit(f"switchboard: cannot synthesize: {exc}")


if __name__ == "__main__":
    main()
