"""The CDK apps the infrastructure tests synthesize, and how they read the templates.

Three apps (session fixtures in ``tests/infra/conftest.py``):

* ``real`` - every spec in ``functions/``, context from ``cdk.json`` plus each integration's sample
  settings (``functions/<name>/settings.local.json``: the bakery the stand-ins play), because an
  integration that sends email must have a From address for the synthesis to succeed;
* ``synthetic`` - the four specs below, which together use every kind of trigger, an OAuth
  connection, an email sender and a route-only integration, and let the tests check that one
  integration can reach nothing of another's;
* ``prod`` - the synthetic specs as stage ``prod`` (with another tracing mode).

Bundling is skipped (``aws:cdk:bundling-stacks: []``); ``make synth`` exercises it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template
from pydantic import BaseModel, ConfigDict

from infra.cdk.app import build_app, stack_names
from infra.cdk.naming import resource_name
from shared.registry import load_specs
from shared.spec import (
    BusTrigger,
    Connection,
    EmailSender,
    FormTrigger,
    IntegrationSpec,
    RetryPolicy,
    RouteTrigger,
    ScheduleTrigger,
    WebhookTrigger,
)

ROOT = Path(__file__).resolve().parents[2]
CDK_CONTEXT: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
SKIP_BUNDLING: dict[str, Any] = {"aws:cdk:bundling-stacks": []}
#: Each integration's sample settings, as ``make dev`` uses them.
SAMPLE_SETTINGS: dict[str, Any] = {
    path.parent.name: json.loads(path.read_text())
    for path in sorted((ROOT / "functions").glob("*/settings.local.json"))
}
REAL_CONTEXT: dict[str, Any] = {"settings": SAMPLE_SETTINGS}


# -- synthetic specs -----------------------------------------------------------------------------


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = "x"


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    allowed_origins: tuple[str, ...] = ()


class _StubVerifier:
    """Stands in for a real verifier when ``shared.webhooks.standard`` is not there."""

    scheme = "stub"

    def verify(self, request: Any, secrets: Sequence[str], now: float) -> None:
        return None

    def sign(
        self, *, method: str, url: str, body: bytes, secret: str, now: float, msg_id: str
    ) -> dict[str, str]:
        return {}

    def signature_headers(self) -> tuple[str, ...]:
        return ()


def _verifier() -> Any:
    try:
        from shared.webhooks.standard import StandardWebhooks
    except ImportError:
        return _StubVerifier()
    return StandardWebhooks()


def _accept(*_: Any) -> list[Any]:
    return []


ALPHA_SIGNING = Connection(
    name="alpha_signing", app="alpha", description="Alpha signing", fields=("secret",), kind="signing"
)
ALPHA_API = Connection(
    name="alpha_api", app="alpha", description="Alpha API", fields=("token",), optional=("base_url",)
)
BETA_OAUTH = Connection(
    name="beta_oauth",
    app="beta",
    description="Beta OAuth",
    fields=("client_id", "client_secret", "refresh_token"),
    kind="oauth2",
)

ALPHA = IntegrationSpec(
    name="alpha_flow",
    description="Synthetic: webhook + form + synchronous route, emits",
    input_model=_Payload,
    triggers=(
        WebhookTrigger(
            name="hook",
            path="/hooks/alpha_flow",
            verifier=_verifier(),
            secret=ALPHA_SIGNING,
            model=_Payload,
            accept=_accept,
        ),
        FormTrigger(name="form", path="/forms/alpha_flow", model=_Payload, accept=_accept),
        RouteTrigger(
            name="stock", path="/stock/{sku}", handler="x:y", cors=True, throttle_rate=7, throttle_burst=14
        ),
    ),
    connections=(ALPHA_API,),
    emits=("lead.created",),
    settings=_Settings,
    worker="functions.alpha_flow.worker:process",
    timeout_s=20,
    memory_mb=512,
    batch_size=5,
    max_invocations=3,
)
BETA = IntegrationSpec(
    name="beta_flow",
    description="Synthetic: schedule + bus, OAuth connection, emits nothing",
    input_model=_Payload,
    triggers=(
        ScheduleTrigger(
            name="nightly", expression="cron(0 2 * * ? *)", accept=_accept, timezone="Europe/Berlin"
        ),
        BusTrigger(name="leads", detail_types=("lead.created",), model=_Payload, accept=_accept),
    ),
    connections=(BETA_OAUTH,),
    worker="functions.beta_flow.worker:process",
    timeout_s=45,
    retry=RetryPolicy(max_attempts=4),
)


class _MailSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    from_address: str = ""


GAMMA = IntegrationSpec(
    name="gamma_mail",
    description="Synthetic: bus trigger, sends email through SES from an address in its settings",
    input_model=_Payload,
    triggers=(BusTrigger(name="leads", detail_types=("lead.created",), model=_Payload, accept=_accept),),
    email=EmailSender(from_setting="from_address"),
    settings=_MailSettings,
    worker="functions.gamma_mail.worker:process",
)
DELTA = IntegrationSpec(
    name="delta_lookup",
    description="Synthetic: a synchronous route only (nothing queued), with an OAuth connection",
    input_model=_Payload,
    triggers=(RouteTrigger(name="lookup", path="/lookup/{id}", handler="x:y"),),
    connections=(BETA_OAUTH,),
)
SYNTHETIC = (ALPHA, BETA, GAMMA, DELTA)
SYNTHETIC_SETTINGS = {
    "alpha_flow": {"allowed_origins": ["https://shop.example", "https://www.shop.example/"]},
    # Capitals in the domain: the SES condition must hold for the address as the function sends it.
    "gamma_mail": {"from_address": "Bramble Bakery <Hello@Bramble-Bakery.example>"},
}
#: The prod app gets an alarm email and a tracing mode for its stage only (the per-stage form).
PROD_CONTEXT = {
    "stage": "prod",
    "settings": SYNTHETIC_SETTINGS,
    "alarm_email": {"prod": "ops@bramble-bakery.example", "dev": "dev@bramble-bakery.example"},
    "tracing": {"prod": "pass_through", "dev": "active"},
}


def inline_code(spec: IntegrationSpec) -> lambda_.Code:
    # Synthetic specs have no folder to bundle; the code asset is not what these tests are about.
    return lambda_.Code.from_inline("def handler(event, context):\n    return None\n")


# -- synthesis -----------------------------------------------------------------------------------


@dataclass
class Synth:
    """One synthesized app: its templates, its validation report and its synthesis error, if any."""

    stage: str
    specs: tuple[IntegrationSpec, ...]
    outdir: Path
    error: str | None
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    _assertions: dict[str, Template] = field(default_factory=dict)

    @property
    def core(self) -> dict[str, Any]:
        return self.templates[stack_names(self.stage)[0]]

    @property
    def integrations(self) -> dict[str, Any]:
        return self.templates[stack_names(self.stage)[1]]

    def template(self, which: str) -> Template:
        name = stack_names(self.stage)[0 if which == "core" else 1]
        if name not in self._assertions:
            self._assertions[name] = Template.from_json(self.templates[name])
        return self._assertions[name]

    def report(self) -> dict[str, Any]:
        path = self.outdir / "validation-report.json"
        return json.loads(path.read_text()) if path.exists() else {"pluginReports": []}

    def violations(self) -> list[tuple[str, str, str]]:
        """Policy-validation findings (cdk-nag), without the construct annotations that CDK puts in the
        same report (our own warnings and errors: see :meth:`annotations`)."""
        return [
            (v["ruleName"], v["severity"], c["constructPath"])
            for plugin in self.report()["pluginReports"]
            if plugin["pluginName"] != "Construct Annotations"
            for v in plugin["violations"]
            for c in v["violatingConstructs"]
        ]

    def annotations(self, kind: str) -> list[str]:
        """Annotations of the assembly: ``warning`` (``add_warning_v2``) or ``error`` (``add_error``)."""
        found = []
        for path in self.outdir.glob("*.metadata.json"):
            for entries in json.loads(path.read_text()).values():
                found += [str(e["data"]) for e in entries if e["type"] == f"aws:cdk:{kind}"]
        return found

    def warnings(self) -> list[str]:
        return self.annotations("warning")

    def resources(self, type_: str, which: str = "integrations") -> dict[str, dict[str, Any]]:
        template = self.integrations if which == "integrations" else self.core
        return {k: r for k, r in template["Resources"].items() if r["Type"] == type_}


def synthesize(
    outdir: Path,
    specs: Sequence[IntegrationSpec] | None,
    context: Mapping[str, Any] | None = None,
    *,
    code: Any = None,
) -> Synth:
    ctx = {**CDK_CONTEXT, **SKIP_BUNDLING, **(context or {})}
    app = build_app(ctx, specs, code=code, outdir=str(outdir))
    error = None
    try:
        app.synth()
    except RuntimeError as exc:  # a failed validation (cdk-nag, an error annotation) still writes templates
        error = str(exc)
    stage = str(ctx.get("stage", "dev"))
    synth = Synth(
        stage=stage, specs=tuple(load_specs() if specs is None else specs), outdir=outdir, error=error
    )
    for name in stack_names(stage):
        synth.templates[name] = json.loads((outdir / f"{name}.template.json").read_text())
    return synth


# -- template navigation -------------------------------------------------------------------------


def one(resources: Mapping[str, dict[str, Any]], **props: Any) -> tuple[str, dict[str, Any]]:
    found = [
        (k, r) for k, r in resources.items() if all(r["Properties"].get(p) == v for p, v in props.items())
    ]
    assert len(found) == 1, f"expected one resource with {props}, found {[k for k, _ in found]}"
    return found[0]


@dataclass(frozen=True)
class Parts:
    """Logical ids of one integration's resources in the integrations template."""

    function: str
    role: str
    log_group: str
    #: ``None`` for a route-only integration, which has no queue.
    queue: str | None
    dlq: str | None


def parts(synth: Synth, spec: IntegrationSpec) -> Parts:
    base = resource_name(synth.stage, spec.name)
    function, fn = one(synth.resources("AWS::Lambda::Function"), FunctionName=base)
    log_group, _ = one(synth.resources("AWS::Logs::LogGroup"), LogGroupName=f"/aws/lambda/{base}")
    queues = synth.resources("AWS::SQS::Queue")
    queue = dlq = None
    if spec.queued_triggers:
        queue, _ = one(queues, QueueName=base)
        dlq, _ = one(queues, QueueName=f"{base}-dlq")
    else:
        names = {r["Properties"].get("QueueName") for r in queues.values()}
        assert not {base, f"{base}-dlq"} & names, f"{spec.name} is route-only and must have no queue"
    return Parts(
        function=function,
        role=fn["Properties"]["Role"]["Fn::GetAtt"][0],
        log_group=log_group,
        queue=queue,
        dlq=dlq,
    )


def arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(synth: Synth, role: str) -> list[dict[str, Any]]:
    """Every statement of every policy attached to ``role`` (inline policies only)."""
    statements = []
    for policy in synth.resources("AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


def referenced_ids(value: Any) -> set[str]:
    """Logical ids a CloudFormation value refers to (Ref / Fn::GetAtt)."""
    ids: set[str] = set()
    for node in walk(value):
        if isinstance(node, dict):
            if isinstance(node.get("Ref"), str) and not node["Ref"].startswith("AWS::"):
                ids.add(node["Ref"])
            if isinstance(node.get("Fn::GetAtt"), list):
                ids.add(node["Fn::GetAtt"][0])
    return ids


_SECRET = re.compile(r":secret:switchboard/[a-z0-9]+/([A-Za-z0-9_.-]+)-\?{6}")


def secret_names(value: Any) -> set[str]:
    return set(_SECRET.findall(json.dumps(value)))


_PARAMETER = re.compile(r":parameter/switchboard/[a-z0-9]+/([A-Za-z0-9_.-]+)")


def parameter_names(value: Any) -> set[str]:
    """Connection names of the SSM parameters ``value`` (policies, templates) names."""
    return set(_PARAMETER.findall(json.dumps(value)))


def rendered(value: Any) -> str:
    """A CloudFormation string value with ``{"Ref": x}`` shown as ``{x}`` (``Fn::Join`` flattened)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        delimiter, items = value["Fn::Join"]
        return str(delimiter).join(rendered(i) for i in items)
    if isinstance(value, dict) and "Ref" in value:
        return "{" + str(value["Ref"]) + "}"
    return json.dumps(value, sort_keys=True)


def origin_list(values: Sequence[str]) -> list[str]:
    return sorted({v.rstrip("/") for v in values})
