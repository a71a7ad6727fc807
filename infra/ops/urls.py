"""``switchboard urls``: every webhook, form and route URL, from the local runtime or a stage's outputs.

Deployed URLs come from the integrations stack's CloudFormation outputs (``DescribeStacks``): one
output per HTTP trigger, keyed ``<Integration><Trigger>Url`` (:func:`infra.cdk.naming.pascal`), plus
``ApiUrl`` and ``DashboardUrl``.
"""

from __future__ import annotations

from typing import TextIO

from infra.cdk.naming import pascal, stack_names
from infra.ops.target import CliError, Target, aws_errors
from shared.registry import load_specs

__all__ = ["print_urls", "stack_outputs"]


def stack_outputs(target: Target) -> dict[str, str]:
    from botocore.exceptions import ClientError

    stack = stack_names(target.stage)[1]
    try:
        with aws_errors(target, f"reading stack {stack}"):
            stacks = target.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except Exception as exc:
        cause = exc.__cause__
        if isinstance(cause, ClientError) and "does not exist" in str(cause):
            raise CliError(
                f"stack {stack} is not deployed in {target.region}: deploy with `make deploy STAGE={target.stage}`, "
                "or pass the right --region"
            ) from exc
        raise
    return {str(o["OutputKey"]): str(o["OutputValue"]) for o in stacks[0].get("Outputs", [])}


def print_urls(target: Target, out: TextIO) -> None:
    if target.is_local:
        base = target.gateway or ""
        for spec in load_specs():
            for t in spec.http_triggers:
                out.write(f"{t.method:<5} {base + t.path:<64} {spec.name}.{t.name}\n")
        return
    outputs = stack_outputs(target)
    for spec in load_specs():
        for t in spec.http_triggers:
            url = outputs.get(f"{pascal(spec.name, t.name)}Url", "(not deployed on this stage yet)")
            out.write(f"{t.method:<5} {url:<64} {spec.name}.{t.name}\n")
    for key, label in (("ApiUrl", "API"), ("DashboardUrl", "dashboard")):
        if key in outputs:
            out.write(f"{label}: {outputs[key]}\n")
