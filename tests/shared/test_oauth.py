"""OAuth 2.0 connections (shared/oauth.py) against a token endpoint that rotates refresh tokens.

The app here is a stand-in with Intuit's behaviour (HTTP Basic client auth, a new refresh token on
every refresh, a used one refused), served by ``sandbox.oauth.OAuthServer`` in-process; secrets and
the lease live in moto. Two ``Runtime`` objects stand for two Lambda containers: each has its own
in-memory token cache, and only the secret and the lease are shared - as in production.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import pytest
from aws_lambda_powertools.metrics import EphemeralMetrics

from infra.local.resources import LocalResources
from sandbox.base import Handler, SandboxApp, SandboxRequest, SandboxResponse, as_transport
from sandbox.oauth import OAuthServer
from shared import oauth
from shared.app import App
from shared.clients import api_client, current_metrics
from shared.errors import ConnectionRevoked, EventInProgress, TargetTimeout, TargetUnavailable
from shared.registry import load_spec
from shared.runtime import Runtime

APP = App(
    name="ledgerly",
    base_url="https://api.ledgerly.example",
    auth="oauth2",
    token_url="https://auth.ledgerly.example/oauth2/v1/tokens/bearer",
    token_auth="basic",
)
CONNECTION = APP.connection()


class LedgerlySandbox(SandboxApp):
    name = "ledgerly"

    def __init__(self) -> None:
        self.oauth = OAuthServer("ledgerly", client_auth="basic", rotate=True)
        #: Runs before a token request is served (a test's way to act "elsewhere" meanwhile).
        self.before_token: Callable[[], None] | None = None
        #: Every bearer token is refused (the provider's token store lagging its token endpoint).
        self.refuse_all = False
        #: Bodies of the POST /v1/things the API acted on.
        self.things: list[bytes] = []
        super().__init__()

    def _token(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        if self.before_token is not None:
            self.before_token()
        return self.oauth.token(req, params)

    def reset_data(self) -> None:
        self.oauth.reset()

    def routes(self) -> Iterable[tuple[str, str, Handler]]:
        return (
            ("POST", "/oauth2/v1/tokens/bearer", self._token),
            ("GET", "/v1/ping", lambda req, _: SandboxResponse.json({"pong": True})),
            ("POST", "/v1/things", self._create_thing),
        )

    def _create_thing(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        self.things.append(req.body)
        return SandboxResponse.json({"id": len(self.things)}, 201)

    def authorize(self, req: SandboxRequest) -> SandboxResponse | None:
        if req.path.startswith("/oauth2/") or (self.oauth.bearer_ok(req) and not self.refuse_all):
            return None
        return SandboxResponse.json({"fault": "AuthenticationFailed"}, 401)


@pytest.fixture
def sandbox() -> LedgerlySandbox:
    return LedgerlySandbox()


@pytest.fixture
def runtime(resources: LocalResources, sandbox: LedgerlySandbox, aws: Any) -> Any:
    """``runtime()``: a new "container" (own caches) sharing moto's secret and table."""
    aws.client("secretsmanager").create_secret(
        Name=resources.secret_prefix + CONNECTION.name,
        SecretString=json.dumps(
            {
                "client_id": "sandbox-ledgerly-client_id",
                "client_secret": "sandbox-ledgerly-client_secret",
                "refresh_token": "sandbox-ledgerly-refresh_token",
            }
        ),
    )
    spec = load_spec("website_to_crm")  # any spec: only the table and secret prefix matter here
    queue_url, dlq_url = resources.queues[spec.name]

    def make() -> Runtime:
        return Runtime(
            spec=spec,
            stage=resources.stage,
            queue_url=queue_url,
            dlq_url=dlq_url,
            table=resources.table,
            bus=resources.bus,
            secret_prefix=resources.secret_prefix,
            secret_max_age_s=0,
            http_transport=as_transport(sandbox, mount=""),
        )

    return make


def stored(aws: Any, resources: LocalResources) -> dict[str, str]:
    value = aws.client("secretsmanager").get_secret_value(SecretId=resources.secret_prefix + CONNECTION.name)
    return dict(json.loads(value["SecretString"]))


def test_first_use_refreshes_and_writes_the_rotated_refresh_token_back(
    runtime: Any, sandbox: LedgerlySandbox, aws: Any, resources: LocalResources
) -> None:
    rt = runtime()
    token = oauth.access_token(rt, APP, CONNECTION)

    secret = stored(aws, resources)
    assert secret["access_token"] == token
    assert secret["refresh_token"] != "sandbox-ledgerly-refresh_token"  # rotated and stored
    assert secret["refresh_token"] in sandbox.oauth.refresh_tokens  # ... and it is the valid one
    assert float(secret["expires_at"]) > time.time() + 3000
    assert secret["client_secret"] == "sandbox-ledgerly-client_secret"  # other fields kept
    # Used again (same container, another container) without another refresh.
    assert oauth.access_token(rt, APP, CONNECTION) == token
    assert oauth.access_token(runtime(), APP, CONNECTION) == token
    assert sandbox.oauth.refresh_calls == 1


def test_a_refresh_is_a_log_line_not_a_metric(
    runtime: Any, aws: Any, resources: LocalResources, capsys: pytest.CaptureFixture[str]
) -> None:
    """A routine refresh is logged (which connection, until when, whether the refresh token
    rotated) and counted by no metric series: nothing alarms on it, and a failed refresh has its own
    metric (``OAuthRefreshFailed``) and alarm."""
    metrics = EphemeralMetrics(namespace="Switchboard")
    token = current_metrics.set(metrics)
    capsys.readouterr()
    try:
        access = oauth.access_token(runtime(), APP, CONNECTION)
    finally:
        current_metrics.reset(token)
    assert metrics.metric_set == {}
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    (refreshed,) = [line for line in lines if line.get("message") == "oauth refreshed"]
    secret = stored(aws, resources)
    assert refreshed["app"] == "ledgerly" and refreshed["connection"] == CONNECTION.name
    assert refreshed["expires_at"] == secret["expires_at"]
    assert refreshed["refresh_token_rotated"] is True
    assert access not in out and secret["refresh_token"] not in out  # never a token


def test_refreshes_ahead_of_expiry_and_the_old_refresh_token_is_spent(
    runtime: Any, sandbox: LedgerlySandbox, aws: Any, resources: LocalResources
) -> None:
    rt = runtime()
    first = oauth.access_token(rt, APP, CONNECTION)
    spent = stored(aws, resources)["refresh_token"]
    # Four minutes left: inside the five-minute margin, so the next call refreshes.
    secrets = aws.client("secretsmanager")
    value = stored(aws, resources) | {"expires_at": str(int(time.time() + 240))}
    secrets.put_secret_value(
        SecretId=resources.secret_prefix + CONNECTION.name, SecretString=json.dumps(value)
    )

    second = oauth.access_token(runtime(), APP, CONNECTION)

    assert second != first
    assert sandbox.oauth.refresh_calls == 2
    assert spent in sandbox.oauth.used_refresh_tokens
    assert stored(aws, resources)["refresh_token"] in sandbox.oauth.refresh_tokens


def test_two_containers_refreshing_at_once_make_one_refresh_call(
    runtime: Any, sandbox: LedgerlySandbox, aws: Any, resources: LocalResources
) -> None:
    """The first container holds the lease through a slow token call; the second waits for its tokens.

    Deterministic: the second container starts only once the first one's lease is in the table.
    """
    sandbox.handle(
        SandboxRequest(
            "POST",
            "/_faults",
            body=json.dumps({"kind": "slow", "delay_s": 1.5, "path": "/oauth2/v1/tokens/bearer"}).encode(),
        )
    )
    results: dict[str, str] = {}
    errors: list[BaseException] = []

    def worker(name: str, rt: Runtime) -> None:
        try:
            results[name] = oauth.access_token(rt, APP, CONNECTION)
        except BaseException as exc:  # reported below
            errors.append(exc)

    first = threading.Thread(target=worker, args=("a", runtime()))
    first.start()
    lease_key = {"id": {"S": f"oauth#{resources.secret_prefix}{CONNECTION.name}"}}
    deadline = time.monotonic() + 10
    while "Item" not in aws.client("dynamodb").get_item(TableName=resources.table, Key=lease_key):
        assert time.monotonic() < deadline, "the first container never took the lease"
        time.sleep(0.02)
    others = [threading.Thread(target=worker, args=(f"b{i}", runtime())) for i in range(3)]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join(timeout=30)

    assert not errors
    assert sandbox.oauth.refresh_calls == 1
    assert len(set(results.values())) == 1 and len(results) == 4
    secret = stored(aws, resources)
    assert secret["access_token"] == results["a"]
    assert secret["refresh_token"] in sandbox.oauth.refresh_tokens  # never a spent one
    # The lease is released once the tokens are stored.
    assert "Item" not in aws.client("dynamodb").get_item(TableName=resources.table, Key=lease_key)


def test_a_dead_workers_lease_runs_out(
    runtime: Any, sandbox: LedgerlySandbox, aws: Any, resources: LocalResources
) -> None:
    aws.client("dynamodb").put_item(
        TableName=resources.table,
        Item={
            "id": {"S": f"oauth#{resources.secret_prefix}{CONNECTION.name}"},
            "owner": {"S": "a-worker-that-died"},
            "lease_until": {"N": str(time.time() - 1)},
        },
    )
    assert oauth.access_token(runtime(), APP, CONNECTION)
    assert sandbox.oauth.refresh_calls == 1


def test_a_held_lease_that_never_yields_tokens_is_retryable(
    runtime: Any, aws: Any, resources: LocalResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oauth, "WAIT_S", 0.3)
    aws.client("dynamodb").put_item(
        TableName=resources.table,
        Item={
            "id": {"S": f"oauth#{resources.secret_prefix}{CONNECTION.name}"},
            "owner": {"S": "another-worker"},
            "lease_until": {"N": str(time.time() + 60)},
        },
    )
    with pytest.raises(EventInProgress):
        oauth.access_token(runtime(), APP, CONNECTION)


def test_revoked_connection_is_permanent_with_a_reason_and_a_metric(
    runtime: Any, sandbox: LedgerlySandbox
) -> None:
    sandbox.oauth.revoke()
    metrics = EphemeralMetrics(namespace="Switchboard")
    token = current_metrics.set(metrics)
    try:
        with pytest.raises(ConnectionRevoked) as caught:
            oauth.access_token(runtime(), APP, CONNECTION)
    finally:
        current_metrics.reset(token)
    message = str(caught.value)
    assert "invalid_grant" in message and "switchboard secrets set ledgerly" in message
    assert "dlq redrive" in message
    assert "sandbox-ledgerly" not in message  # no credential in the reason
    assert "OAuthRefreshFailed" in metrics.metric_set


def test_invalid_grant_after_a_rotation_elsewhere_is_not_revocation(
    runtime: Any, sandbox: LedgerlySandbox, aws: Any, resources: LocalResources
) -> None:
    """Our refresh token was spent by another worker (whose lease had run out) while we refreshed."""

    def rotate_elsewhere() -> None:
        sandbox.before_token = None
        secret = stored(aws, resources)
        basic = (
            "Basic " + base64.b64encode(b"sandbox-ledgerly-client_id:sandbox-ledgerly-client_secret").decode()
        )
        body = f"grant_type=refresh_token&refresh_token={secret['refresh_token']}".encode()
        headers = {"content-type": "application/x-www-form-urlencoded", "authorization": basic}
        answer = sandbox.oauth.token(SandboxRequest("POST", "/", headers=headers, body=body), {}).parsed()
        aws.client("secretsmanager").put_secret_value(
            SecretId=resources.secret_prefix + CONNECTION.name,
            SecretString=json.dumps(secret | {"refresh_token": answer["refresh_token"]}),
        )

    sandbox.before_token = rotate_elsewhere  # our refresh token is spent before ours is served
    with pytest.raises(TargetUnavailable, match="rotated meanwhile"):
        oauth.access_token(runtime(), APP, CONNECTION)
    # The next attempt refreshes with the stored (newer) token.
    assert oauth.access_token(runtime(), APP, CONNECTION)
    assert stored(aws, resources)["refresh_token"] in sandbox.oauth.refresh_tokens


def test_a_lost_refresh_answer_is_named_in_the_revocation_that_follows(
    runtime: Any, sandbox: LedgerlySandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The provider rotated the refresh token in an answer the client never got: unrecoverable, but said."""
    monkeypatch.setattr(oauth, "TOKEN_TIMEOUT", httpx.Timeout(0.2, connect=0.2))
    fault = {"kind": "slow", "delay_s": 0.5, "path": "/oauth2/v1/tokens/bearer"}
    sandbox.handle(SandboxRequest("POST", "/_faults", body=json.dumps(fault).encode()))
    with pytest.raises(TargetTimeout):
        oauth.access_token(runtime(), APP, CONNECTION)
    assert sandbox.oauth.refresh_calls == 1  # served: the refresh token we hold is spent

    with pytest.raises(ConnectionRevoked, match="earlier refresh got no answer"):
        oauth.access_token(runtime(), APP, CONNECTION)


def test_tokens_that_could_not_be_stored_are_kept_and_stored_first_next_time(
    runtime: Any,
    sandbox: LedgerlySandbox,
    aws: Any,
    resources: LocalResources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rt = runtime()
    calls = {"n": 0}
    real_put = oauth.put_connection

    def failing_put(*args: Any) -> None:
        calls["n"] += 1
        raise RuntimeError("Secrets Manager unavailable")

    monkeypatch.setattr(oauth, "put_connection", failing_put)
    with pytest.raises(TargetUnavailable, match="kept in memory"):
        oauth.access_token(rt, APP, CONNECTION)
    assert calls["n"] == oauth._WRITE_TRIES
    assert "access_token" not in stored(aws, resources)

    monkeypatch.setattr(oauth, "put_connection", real_put)
    token = oauth.access_token(rt, APP, CONNECTION)
    secret = stored(aws, resources)
    assert secret["access_token"] == token
    assert secret["refresh_token"] in sandbox.oauth.refresh_tokens
    assert sandbox.oauth.refresh_calls == 1  # the spent refresh token was never used again


def test_a_refused_access_token_is_refreshed_and_the_request_sent_again_within_the_call(
    runtime: Any, sandbox: LedgerlySandbox
) -> None:
    """A token revoked early costs one refresh, not an attempt (and, under an outage, not a queue wait)."""
    rt = runtime()
    assert api_client(rt, APP, CONNECTION).request("GET", "/v1/ping").json() == {"pong": True}
    sandbox.oauth.expire()  # revoked early, or expired before its stated time

    assert api_client(rt, APP, CONNECTION).request("GET", "/v1/ping").json() == {"pong": True}
    assert sandbox.oauth.refresh_calls == 2
    # Another container holding the refused token in memory refreshes too, with the stored one.
    assert api_client(runtime(), APP, CONNECTION).request("GET", "/v1/ping").json() == {"pong": True}


def test_a_write_refused_for_its_token_is_sent_again_once(runtime: Any, sandbox: LedgerlySandbox) -> None:
    """A 401 means the API did not act, so even a POST is sent again - exactly once."""
    rt = runtime()
    api_client(rt, APP, CONNECTION).request("GET", "/v1/ping")
    sandbox.oauth.expire()

    answer = api_client(rt, APP, CONNECTION).request("POST", "/v1/things", json={"name": "a"})
    assert answer.json() == {"id": 1}
    assert [json.loads(body) for body in sandbox.things] == [{"name": "a"}]
    assert sandbox.oauth.refresh_calls == 2


def test_a_token_refused_again_after_its_refresh_is_retried_by_the_next_attempt(
    runtime: Any, sandbox: LedgerlySandbox
) -> None:
    """Refused twice in one call: retryable (the next attempt refreshes again), never a loop."""
    rt = runtime()
    api_client(rt, APP, CONNECTION).request("GET", "/v1/ping")
    sandbox.refuse_all = True

    with pytest.raises(TargetUnavailable, match="401 access token refused after a refresh"):
        api_client(rt, APP, CONNECTION).request("POST", "/v1/things", json={"name": "a"})
    assert sandbox.oauth.refresh_calls == 2  # one refresh per call: the 401 does not loop
    assert sandbox.things == []

    sandbox.refuse_all = False
    assert api_client(rt, APP, CONNECTION).request("GET", "/v1/ping").json() == {"pong": True}
    assert sandbox.oauth.refresh_calls == 3


def test_sandbox_token_endpoint_checks_the_client_and_the_grant(sandbox: LedgerlySandbox) -> None:
    def post(body: str, headers: dict[str, str]) -> SandboxResponse:
        return sandbox.handle(
            SandboxRequest("POST", "/oauth2/v1/tokens/bearer", headers=headers, body=body.encode())
        )

    form = {"content-type": "application/x-www-form-urlencoded"}
    assert post("grant_type=refresh_token&refresh_token=x", form).status == 401  # no client auth
    basic = form | {
        "authorization": "Basic c2FuZGJveC1sZWRnZXJseS1jbGllbnRfaWQ6c2FuZGJveC1sZWRnZXJseS1jbGllbnRfc2VjcmV0"
    }
    assert post("grant_type=password", basic).parsed()["error"] == "unsupported_grant_type"
    assert post("grant_type=refresh_token&refresh_token=nope", basic).parsed()["error"] == "invalid_grant"
    ok = post("grant_type=refresh_token&refresh_token=sandbox-ledgerly-refresh_token", basic)
    assert ok.status == 200 and ok.parsed()["refresh_token"]
    again = post("grant_type=refresh_token&refresh_token=sandbox-ledgerly-refresh_token", basic)
    assert again.parsed() == {"error": "invalid_grant", "error_description": "refresh token used"}


def test_connection_fields_of_an_oauth_app() -> None:
    assert CONNECTION.kind == "oauth2"
    assert CONNECTION.fields == ("client_id", "client_secret", "refresh_token")
    assert "access_token" in CONNECTION.optional and "expires_at" in CONNECTION.optional
    assert CONNECTION.local["token_url"] == "{sandbox}/ledgerly/oauth2/v1/tokens/bearer"
    with pytest.raises(ValueError, match="token_url"):
        App(name="x", base_url="https://x.example", auth="oauth2")
