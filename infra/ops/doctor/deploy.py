"""Is the code deployed: CDK bootstrap in the account and region, both stacks complete, one function
per integration of the code and none the code no longer has (locally: the runtime serves every spec).

A first ``cdk deploy`` into an account and region needs ``cdk bootstrap`` there once: the synthesized
templates carry a ``CheckBootstrapVersion`` rule that refuses bootstrap versions 1-5, read from the SSM
parameter ``/cdk-bootstrap/<qualifier>/version`` (qualifier ``hnb659fds`` unless ``cdk.json`` sets
``@aws-cdk/core:bootstrapQualifier``). The functions are compared by name (:mod:`infra.cdk.naming`)
between the specs and the deployed integrations stack's template, which is what ``cdk deploy``
would change: a spec without its function is code not deployed yet, a function without a spec is
an integration deleted from the code but still running.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.cdk import naming
from infra.ops.doctor.core import Check, Context, Result
from infra.ops.target import aws_errors

__all__ = ["BOOTSTRAP", "STACKS"]

#: Oldest bootstrap version the synthesized templates accept (their CheckBootstrapVersion rule).
MIN_BOOTSTRAP_VERSION = 6
DEFAULT_QUALIFIER = "hnb659fds"
_FUNCTION = "AWS::Lambda::Function"


def _qualifier(cdk_json: Path = Path("cdk.json")) -> str:
    try:
        context = json.loads(cdk_json.read_text()).get("context", {})
    except (OSError, ValueError):
        return DEFAULT_QUALIFIER
    return str(context.get("@aws-cdk/core:bootstrapQualifier") or DEFAULT_QUALIFIER)


def _account(ctx: Context) -> str:
    def ask() -> str:
        with aws_errors(ctx.target, "asking AWS who you are"):
            return str(ctx.target.client("sts").get_caller_identity()["Account"])

    account: str = ctx.once("account", ask)
    return account


def check_bootstrap(ctx: Context) -> list[Result]:
    target = ctx.target
    if target.is_local:
        return [Result("bootstrap", "skip", "the local runtime needs no CDK bootstrap (AWS stages do)")]
    from botocore.exceptions import ClientError

    name = f"/cdk-bootstrap/{_qualifier()}/version"
    fix = f"npx cdk bootstrap aws://{_account(ctx)}/{target.region}"
    try:
        with aws_errors(target, f"reading SSM parameter {name}"):
            value = target.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
    except Exception as exc:
        cause = exc.__cause__
        if (
            isinstance(cause, ClientError)
            and cause.response.get("Error", {}).get("Code") == "ParameterNotFound"
        ):
            return [
                Result("bootstrap", "FAIL", f"CDK is not bootstrapped in {target.region} (no {name})", fix)
            ]
        raise
    try:
        version = int(value)
    except ValueError:
        version = 0
    if version < MIN_BOOTSTRAP_VERSION:
        return [
            Result(
                "bootstrap",
                "FAIL",
                f"CDK bootstrap version {value} in {target.region} is older than the templates accept "
                f"({MIN_BOOTSTRAP_VERSION}+)",
                fix,
            )
        ]
    return [Result("bootstrap", "ok", f"CDK bootstrap version {version} in {target.region}")]


def _stack(ctx: Context, name: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        with aws_errors(ctx.target, f"reading stack {name}"):
            stacks = ctx.target.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    except Exception as exc:
        cause = exc.__cause__
        if isinstance(cause, ClientError) and "does not exist" in str(cause):
            return None
        raise
    return dict(stacks[0]) if stacks else None


def _stack_line(ctx: Context, name: str, stack: dict[str, Any] | None) -> Result:
    deploy = f"make deploy STAGE={ctx.target.stage}"
    if stack is None:
        return Result("stacks", "FAIL", f"{name} is not deployed in {ctx.target.region}", deploy)
    status = str(stack.get("StackStatus", ""))
    if status in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"):
        return Result("stacks", "ok", f"{name} {status}")
    if status.endswith("_IN_PROGRESS"):
        return Result(
            "stacks",
            "warn",
            f"{name} is {status}",
            "wait for it to finish, then run `switchboard doctor` again",
        )
    if status == "UPDATE_ROLLBACK_COMPLETE":
        return Result(
            "stacks",
            "FAIL",
            f"{name}: its last update failed and was rolled back; the code deployed is an older one",
            f"read the failed events in the CloudFormation console, fix, then {deploy}",
        )
    reason = str(stack.get("StackStatusReason") or "")
    fix = (
        f"delete it (aws cloudformation delete-stack --stack-name {name}), then {deploy}"
        if status == "ROLLBACK_COMPLETE"
        else f"read its events in the CloudFormation console, fix, then {deploy}"
    )
    return Result("stacks", "FAIL", f"{name} is {status}" + (f": {reason}" if reason else ""), fix)


def _deployed_functions(ctx: Context, stack: str) -> set[str]:
    """The function names of the deployed template (``FunctionName`` properties)."""
    with aws_errors(ctx.target, f"reading the template of {stack}"):
        body = ctx.target.client("cloudformation").get_template(StackName=stack)["TemplateBody"]
    template: dict[str, Any] = json.loads(body) if isinstance(body, str) else dict(body)
    names = set()
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == _FUNCTION:
            value = resource.get("Properties", {}).get("FunctionName")
            if isinstance(value, str):
                names.add(value)
    prefix = naming.resource_name(ctx.target.stage) + "-"
    return {n for n in names if n.startswith(prefix)}  # CDK's own helper functions are not integrations


def check_stacks(ctx: Context) -> list[Result]:
    if ctx.target.is_local:
        return _check_runtime(ctx)
    stage = ctx.target.stage
    core, integrations = naming.stack_names(stage)
    found = {name: _stack(ctx, name) for name in (core, integrations)}
    results = [_stack_line(ctx, name, stack) for name, stack in found.items()]
    if found[integrations] is None:
        return results
    deployed = _deployed_functions(ctx, integrations)
    wanted = {naming.function_name(stage, s.name): s.name for s in ctx.specs}
    missing = sorted(name for fn, name in wanted.items() if fn not in deployed)
    unknown = sorted(deployed - set(wanted))
    deploy = f"make deploy STAGE={stage}"
    if missing:
        results.append(
            Result(
                "stacks",
                "FAIL",
                f"not deployed yet: {', '.join(missing)} (in the code, not in {integrations})",
                deploy,
            )
        )
    if unknown:
        results.append(
            Result(
                "stacks",
                "FAIL",
                f"deployed but not in the code: {', '.join(unknown)} (deleted integrations still running)",
                f"{deploy} removes them",
            )
        )
    if not missing and not unknown:
        results.append(
            Result("stacks", "ok", f"{len(wanted)} functions deployed, one per integration of the code")
        )
    return results


def _check_runtime(ctx: Context) -> list[Result]:
    """Locally: the gateway answers with every spec's routes, and every queued spec has its queues."""
    import httpx

    target = ctx.target
    restart = "restart `make dev` (it loads every functions/<name>/spec.py at start)"
    try:
        answer = httpx.get((target.gateway or "").rstrip("/") + "/", timeout=5.0)
        served = {(str(r["integration"]), str(r["trigger"])) for r in answer.json()["routes"]}
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        return [
            Result(
                "stacks",
                "FAIL",
                f"the local gateway at {target.gateway} does not answer ({type(exc).__name__})",
                "is `make dev` still running? (delete a stale .switchboard/local.json)",
            )
        ]
    missing: list[str] = []
    for spec in ctx.specs:
        routes_served = all((spec.name, t.name) in served for t in spec.http_triggers)
        if not routes_served or (spec.queued_triggers and not _has_queues(ctx, spec.name)):
            missing.append(spec.name)
    if missing:
        return [Result("stacks", "FAIL", f"the local runtime does not serve {', '.join(missing)}", restart)]
    return [Result("stacks", "ok", f"the local runtime serves all {len(ctx.specs)} integrations")]


def _has_queues(ctx: Context, name: str) -> bool:
    from infra.ops.target import NotDeployed

    try:
        ctx.target.queue_url(name)
        ctx.target.queue_url(name, dlq=True)
    except NotDeployed:
        return False
    return True


BOOTSTRAP = Check("bootstrap", "the CDK bootstrap", check_bootstrap)
STACKS = Check("stacks", "the deployed stacks", check_stacks)
