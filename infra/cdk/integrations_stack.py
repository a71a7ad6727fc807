"""The integrations stack: the shared HTTP API, the dependency layer, one Integration per spec, one
circuit-open alarm per app a worker calls, and the stage's dashboard (the alarms on top, one row per
integration).

Everything that changes when code changes lives here, the stateful resources in the core stack. The
dependency layer is here and not in the core stack on purpose: a layer version's ARN changes with
every dependency bump, and a cross-stack export cannot change while another stack imports it, so a
layer exported from the core stack would block its own update.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.cdk.api import CorsConfig, SwitchboardApi
from infra.cdk.bundling import ARCHITECTURE, PIP_PLATFORM, RUNTIME, function_code, layer_code
from infra.cdk.config import StageConfig
from infra.cdk.core import CoreResources
from infra.cdk.dashboard import SwitchboardDashboard
from infra.cdk.health_alarms import app_alarms
from infra.cdk.integration import Integration, cors_config, resolve_settings
from infra.cdk.naming import pascal
from shared.spec import IntegrationSpec

__all__ = ["CodeFactory", "IntegrationsStack"]

#: Builds the code asset of one integration's function (tests pass one for synthetic specs).
CodeFactory = Callable[[IntegrationSpec], lambda_.Code]


def _default_code(spec: IntegrationSpec) -> lambda_.Code:
    return function_code(spec.name)


def _check_routes(specs: Sequence[IntegrationSpec]) -> None:
    """Two integrations claiming the same route would otherwise fail as a construct-id clash."""
    owners: dict[tuple[str, str], str] = {}
    for spec in specs:
        for trigger in spec.http_triggers:
            key = (trigger.method.upper(), trigger.path)
            other = owners.setdefault(key, f"{spec.name}/{trigger.name}")
            if other != f"{spec.name}/{trigger.name}":
                raise ValueError(
                    f"route {key[0]} {key[1]} is declared by {other} and {spec.name}/{trigger.name}"
                )


class IntegrationsStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        specs: Sequence[IntegrationSpec],
        core: CoreResources,
        code: CodeFactory | None = None,
        env: cdk.Environment | None = None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"Switchboard {config.stage}: HTTP API and one function + queue per integration",
            env=env,
        )
        _check_routes(specs)
        code = code or _default_code

        self.layer = lambda_.LayerVersion(
            self,
            "DependencyLayer",
            code=layer_code(),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=f"Switchboard runtime dependencies ({PIP_PLATFORM}, {RUNTIME.name})",
            removal_policy=config.removal_policy,
        )

        settings = {spec.name: resolve_settings(spec, config.settings_for(spec.name)) for spec in specs}
        cors = CorsConfig.union(
            c for c in (cors_config(spec, settings[spec.name]) for spec in specs) if c is not None
        )
        self.api = SwitchboardApi(self, "Api", config=config, cors=cors)

        self.integrations: dict[str, Integration] = {
            spec.name: Integration(
                self,
                pascal(spec.name),
                spec=spec,
                config=config,
                core=core,
                api=self.api,
                layer=self.layer,
                code=code(spec),
                settings=settings[spec.name],
            )
            for spec in specs
        }

        #: One alarm per app that some worker calls: its circuit is open (``shared.health``).
        self.app_alarms = app_alarms(self, config=config, specs=specs, topic=core.alarm_topic)

        self.dashboard = SwitchboardDashboard(
            self,
            "Dashboard",
            config=config,
            alarms=[
                *(a for i in self.integrations.values() for a in i.alarms.values()),
                *self.app_alarms.values(),
            ],
            rows=[i.dashboard_row for i in self.integrations.values()],
        )

        api_url = cdk.CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the HTTP API")
        api_url.override_logical_id("ApiUrl")
        dashboard_url = cdk.CfnOutput(
            self, "DashboardUrl", value=self.dashboard.url, description="The stage's CloudWatch dashboard"
        )
        dashboard_url.override_logical_id("DashboardUrl")
