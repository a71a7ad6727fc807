"""CloudFormation pitfalls that pass synthesis, cdk-nag, cfn-lint and moto and still fail a deployment.

Each pitfall is a generic check over every synthesized template (``docs/cloudformation-pitfalls.md``
lists them), not a test of the one resource that once had it:

* **A stage's route settings before its routes.** ``RouteSettings`` of an API Gateway v2 stage may
  name only routes that exist; API Gateway refuses the stage otherwise ("Unable to find Route by key
  ... within the provided RouteSettings"). CloudFormation orders resources only by references and
  ``DependsOn``, and a stage does not reference its routes, so every key must name a route of the
  same API in the template that the stage depends on directly.
* **An event source mapping before its permissions.** Lambda checks, when the mapping is created,
  that the function's role may receive from the queue ("The provided execution role does not have
  permissions to call ReceiveMessage on SQS"). The policy that grants it must be created first: the
  mapping must depend on it, directly or through what it references.
* **Empty-string properties.** ``""`` is not "unset": services validate it as a value, and some
  regions refuse what others accept (CDK writes ``KmsKeyIdentifier: ""`` into every EventBridge
  archive, aws/aws-cdk#37847). No value anywhere may be ``""``, except where it is CloudFormation
  syntax: the delimiter of ``Fn::Join`` and ``Fn::GetAZs: ""`` (the current region).

Each check is shown failing, both on a broken copy of a real template and on a minimal CDK stack
built the way that once failed, so a check that stopped looking would be noticed.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_

from tests.infra.cdk_apps import Synth, listify, referenced_ids

pytestmark = pytest.mark.cdk

APPS = ["real", "synthetic", "prod"]


# -- the checks ----------------------------------------------------------------------------------


def route_settings_problems(template: dict[str, Any]) -> list[str]:
    """Each ``RouteSettings`` key of each stage that does not name a route of the stage's API that
    the stage ``DependsOn`` directly."""
    resources: dict[str, dict[str, Any]] = template.get("Resources", {})
    routes: dict[str, list[tuple[str, Any]]] = {}
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::ApiGatewayV2::Route":
            props = resource["Properties"]
            routes.setdefault(props["RouteKey"], []).append((logical_id, props["ApiId"]))
    problems = []
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::ApiGatewayV2::Stage":
            continue
        depends_on = set(listify(resource.get("DependsOn", [])))
        api = resource["Properties"].get("ApiId")
        for key in resource["Properties"].get("RouteSettings", {}):
            same_api = [route for route, route_api in routes.get(key, []) if route_api == api]
            if not same_api:
                problems.append(f"{logical_id}: RouteSettings names {key!r}, which no route of its API has")
            elif not depends_on & set(same_api):
                problems.append(
                    f"{logical_id}: RouteSettings names {key!r} but the stage does not DependsOn "
                    f"{same_api[0]}: CloudFormation may create the stage before the route"
                )
    return problems


def depends_on(template: dict[str, Any], logical_id: str) -> set[str]:
    """Every resource CloudFormation creates before ``logical_id``: what it references or names in
    ``DependsOn``, and what those depend on."""
    resources = template["Resources"]
    seen: set[str] = set()
    todo = [logical_id]
    while todo:
        resource = resources[todo.pop()]
        for found in referenced_ids(resource.get("Properties", {})) | set(
            listify(resource.get("DependsOn", []))
        ):
            if found in resources and found not in seen:
                seen.add(found)
                todo.append(found)
    return seen


def event_source_problems(template: dict[str, Any]) -> list[str]:
    """Each SQS event source mapping not created after a policy letting its function receive."""
    resources = template["Resources"]
    problems = []
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::EventSourceMapping":
            continue
        source = resource["Properties"]["EventSourceArn"]
        before = depends_on(template, logical_id)
        granting = [
            policy
            for policy in before
            if resources[policy]["Type"] == "AWS::IAM::Policy"
            and any(
                "sqs:ReceiveMessage" in listify(st["Action"]) and source in listify(st["Resource"])
                for st in resources[policy]["Properties"]["PolicyDocument"]["Statement"]
            )
        ]
        if not granting:
            problems.append(
                f"{logical_id}: created without waiting for a policy that lets its function receive"
            )
    return problems


def empty_strings(value: Any, path: str = "") -> Iterator[str]:
    """The path of every ``""`` in ``value``, except CloudFormation's own (``Fn::Join``'s delimiter,
    ``Fn::GetAZs: ""``)."""
    if value == "":
        yield path or "<root>"
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Fn::GetAZs" and item == "":
                continue
            if key == "Fn::Join" and isinstance(item, list) and len(item) == 2:
                yield from empty_strings(item[1], f"{path}/Fn::Join/1")
                continue
            yield from empty_strings(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from empty_strings(item, f"{path}/{index}")


# -- every synthesized template ------------------------------------------------------------------


@pytest.mark.parametrize("app", APPS)
def test_every_stage_depends_on_the_routes_its_settings_name(
    app: str, request: pytest.FixtureRequest
) -> None:
    synth: Synth = request.getfixturevalue(app)
    stages = [
        r
        for t in synth.templates.values()
        for r in t["Resources"].values()
        if r["Type"] == "AWS::ApiGatewayV2::Stage"
    ]
    assert any(s["Properties"].get("RouteSettings") for s in stages), "nothing to check: no RouteSettings"
    for name, template in synth.templates.items():
        assert route_settings_problems(template) == [], name


@pytest.mark.parametrize("app", APPS)
def test_every_event_source_waits_for_the_permission_to_receive(
    app: str, request: pytest.FixtureRequest
) -> None:
    synth: Synth = request.getfixturevalue(app)
    assert synth.resources("AWS::Lambda::EventSourceMapping"), "nothing to check: no event source"
    assert event_source_problems(synth.integrations) == []


@pytest.mark.parametrize("app", APPS)
def test_no_value_is_an_empty_string(app: str, request: pytest.FixtureRequest) -> None:
    synth: Synth = request.getfixturevalue(app)
    for name, template in synth.templates.items():
        assert list(empty_strings(template)) == [], name


# -- the checks fail where they should -----------------------------------------------------------


def test_the_route_check_fails_on_a_stage_that_does_not_wait_for_its_routes(synthetic: Synth) -> None:
    template = copy.deepcopy(synthetic.integrations)
    (stage_id,) = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
    stage = template["Resources"][stage_id]
    keys = sorted(stage["Properties"]["RouteSettings"])
    assert route_settings_problems(template) == []

    del stage["DependsOn"]
    problems = route_settings_problems(template)
    assert len(problems) == len(keys)
    assert all("does not DependsOn" in p for p in problems)

    stage["Properties"]["RouteSettings"]["GET /no/such/route"] = {"ThrottlingRateLimit": 1}
    assert "RouteSettings names 'GET /no/such/route', which no route of its API has" in "\n".join(
        route_settings_problems(template)
    )


def test_the_route_check_fails_on_a_stage_throttled_the_way_that_failed() -> None:
    """A stage given ``RouteSettings`` by a property override, as ``throttle_route`` did before it
    added the dependency: the template CloudFormation refused on a first deployment."""
    app = cdk.App()
    stack = cdk.Stack(app, "Pitfall")
    api = apigwv2.HttpApi(stack, "Api", create_default_stage=False)
    function = lambda_.Function(
        stack,
        "Fn",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
    )
    api.add_routes(
        path="/stock/{sku}",
        methods=[apigwv2.HttpMethod.GET],
        integration=integrations.HttpLambdaIntegration("Stock", function),
    )
    stage = apigwv2.HttpStage(stack, "Stage", http_api=api, stage_name="$default", auto_deploy=True)
    cfn_stage = stage.node.default_child
    assert isinstance(cfn_stage, apigwv2.CfnStage)
    cfn_stage.add_property_override("RouteSettings.GET /stock/{sku}", {"ThrottlingRateLimit": 5})
    template = app.synth().get_stack_by_name("Pitfall").template
    (problem,) = route_settings_problems(template)
    assert "RouteSettings names 'GET /stock/{sku}' but the stage does not DependsOn" in problem


def test_the_event_source_check_fails_on_a_mapping_that_does_not_wait(synthetic: Synth) -> None:
    template = copy.deepcopy(synthetic.integrations)
    functions = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Function"]
    for function in functions:  # the function waits for its role's policy; the mapping for the function
        template["Resources"][function].pop("DependsOn", None)
    mappings = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert sorted(p.split(":")[0] for p in event_source_problems(template)) == sorted(mappings)


def test_the_empty_string_check_fails_on_an_empty_property(synthetic: Synth) -> None:
    template = copy.deepcopy(synthetic.core)
    (archive,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Events::Archive"]
    archive["Properties"]["KmsKeyIdentifier"] = ""
    archive["Properties"]["EventPattern"]["detail-type"] = ["lead.created", ""]
    found = list(empty_strings(template))
    assert len(found) == 2
    assert any(p.endswith("/Properties/KmsKeyIdentifier") for p in found)
    assert any(p.endswith("/EventPattern/detail-type/1") for p in found)
    # CloudFormation's own empty strings are syntax, not values.
    assert list(empty_strings({"A": {"Fn::Join": ["", ["a", "b"]]}, "B": {"Fn::GetAZs": ""}})) == []
    assert list(empty_strings({"A": {"Fn::Join": ["", ["a", ""]]}})) == ["/A/Fn::Join/1/1"]


def test_the_empty_string_check_fails_on_an_archive_as_cdk_writes_it() -> None:
    """An EventBridge archive with CDK's defaults carries ``KmsKeyIdentifier: ""``: the core stack
    removes it, and this test notices if the check would no longer see it."""
    app = cdk.App()
    stack = cdk.Stack(app, "Pitfall")
    bus = events.EventBus(stack, "Bus")
    bus.archive("Archive", event_pattern=events.EventPattern(account=[stack.account]))
    template = app.synth().get_stack_by_name("Pitfall").template
    found = list(empty_strings(template))
    if not found:
        pytest.fail(
            "CDK no longer writes KmsKeyIdentifier: '' into archives (aws/aws-cdk#37847 fixed?): drop "
            "the deletion override in infra/cdk/core.py and this reproduction"
        )
    assert [p.rsplit("/", 1)[1] for p in found] == ["KmsKeyIdentifier"]
