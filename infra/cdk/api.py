"""The one HTTP API every integration's webhook, form and synchronous routes hang off.

One API (not one per integration) gives the business a single host name to hand out, one access log
and one throttle. Its default stage (``$default``) is created explicitly because CDK's implicit default
stage takes no options: access logging (JSON, to a log group with retention) and default throttling
are set here. Per-route throttling of :class:`~shared.spec.RouteTrigger` (and of browser forms) goes
into the stage's ``RouteSettings``, and the stage then depends on each route it names: API Gateway
refuses a stage whose ``RouteSettings`` name a route that does not exist yet ("Unable to find Route by
key ... within the provided RouteSettings"), and without the dependency CloudFormation is free to
create the stage first - which it does on a first deployment (docs/cloudformation-pitfalls.md).

CORS on an HTTP API is configured for the whole API, so :class:`CorsConfig` is the union over the
integrations that need it (forms and ``cors=True`` routes): API Gateway then answers preflight
requests itself. The per-integration origin check of forms stays in the function, which rejects an
origin its own settings do not list.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aws_cdk as cdk
import jsii
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.cdk.config import StageConfig
from infra.cdk.naming import resource_name

__all__ = ["CorsConfig", "SwitchboardApi"]

# $context variables supported by HTTP APIs
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html).
_ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "httpMethod": "$context.httpMethod",
    "routeKey": "$context.routeKey",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationStatus": "$context.integrationStatus",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
    "error": "$context.error.message",
}


@dataclass(frozen=True)
class CorsConfig:
    origins: tuple[str, ...]
    methods: tuple[str, ...]

    @classmethod
    def union(cls, configs: Iterable[CorsConfig]) -> CorsConfig | None:
        origins: set[str] = set()
        methods: set[str] = set()
        for c in configs:
            origins.update(c.origins)
            methods.update(c.methods)
        if not origins:
            return None
        return cls(origins=tuple(sorted(origins)), methods=tuple(sorted(methods)))


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    """``IAccessLogSettings`` is a jsii interface, not a struct: Python must implement it."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return apigw.AccessLogFormat.custom(json.dumps(_ACCESS_LOG_FORMAT, separators=(",", ":")))


class SwitchboardApi(Construct):
    """The shared HTTP API, its ``$default`` stage and its access log."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, cors: CorsConfig | None
    ) -> None:
        super().__init__(scope, construct_id)
        preflight = None
        if cors is not None:
            preflight = apigwv2.CorsPreflightOptions(
                allow_origins=list(cors.origins),
                allow_methods=[apigwv2.CorsHttpMethod(m) for m in (*cors.methods, "OPTIONS")],
                allow_headers=["content-type"],
                max_age=cdk.Duration.hours(1),
            )
        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            api_name=resource_name(config.stage, "api"),
            description=f"Switchboard {config.stage}: webhooks, forms and synchronous routes",
            create_default_stage=False,
            cors_preflight=preflight,
        )
        self.access_log = logs.LogGroup(
            self,
            "AccessLog",
            retention=config.log_retention,
            removal_policy=config.removal_policy,
        )
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=config.api_rate_limit, burst_limit=config.api_burst_limit
            ),
            access_log_settings=_AccessLogSettings(self.access_log),
        )
        cfn_stage = self.stage.node.default_child
        if not isinstance(cfn_stage, apigwv2.CfnStage):
            raise TypeError(f"expected the stage's CfnStage, got {type(cfn_stage).__name__}")
        self._cfn_stage: apigwv2.CfnStage = cfn_stage

    @property
    def url(self) -> str:
        """Base URL without a trailing slash; a route's URL is ``url + path`` ($default stage)."""
        return self.http_api.api_endpoint

    def throttle_route(
        self,
        route_key: str,
        routes: Sequence[apigwv2.HttpRoute],
        *,
        rate_limit: float,
        burst_limit: int,
    ) -> None:
        """Give one route (``"GET /stock/{sku}"``) its own throttle instead of the stage default.

        ``routes`` are the routes created for that key; the stage depends on them, so CloudFormation
        creates them before the stage that names them in ``RouteSettings``.
        """
        if not routes:
            raise ValueError(f"throttling {route_key!r} needs the route it names")
        escaped = route_key.replace(".", "\\.")  # property override paths split on unescaped dots
        self._cfn_stage.add_property_override(
            f"RouteSettings.{escaped}",
            {"ThrottlingRateLimit": rate_limit, "ThrottlingBurstLimit": burst_limit},
        )
        for route in routes:
            self.stage.node.add_dependency(route)
