"""``switchboard secrets``: what ``set`` did per field, each connection's true kind, ``show --reveal``.

Against a local runtime (moto, stand-ins) with the CLI in-process, and against a "deployed stage"
in moto (``mock_aws``) for what must be refused there.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from infra.local.runtime import LocalRuntime
from infra.ops.secrets import connection_kind
from infra.ops.target import connections
from shared.registry import load_specs
from shared.spec import WebhookTrigger

pytestmark = pytest.mark.e2e

#: A signing secret: an SSM SecureString parameter (shared.store), not a Secrets Manager secret.
SQUARE = "/switchboard/local/square_signing"


def ok(done: Any) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return str(done.stdout)


def stored(runtime: LocalRuntime, parameter: str) -> dict[str, str]:
    ssm = runtime.runtimes["pos_to_accounting"].aws("ssm")
    found = ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]
    assert found["Type"] == "SecureString"
    value: dict[str, str] = json.loads(found["Value"])
    return value


def versions(runtime: LocalRuntime, parameter: str) -> int:
    ssm = runtime.runtimes["pos_to_accounting"].aws("ssm")
    return int(ssm.get_parameter(Name=parameter)["Parameter"]["Version"])


def test_set_says_per_field_whether_it_set_cleared_or_left_it(runtime: LocalRuntime, cli: Any) -> None:
    assert "previous_secret" not in stored(runtime, SQUARE)
    before = versions(runtime, SQUARE)
    nothing = ok(cli("secrets", "set", "square_signing", "previous_secret="))
    assert (
        nothing == f"{SQUARE}: unchanged previous_secret (was not set); nothing written (values not shown)\n"
    )
    assert versions(runtime, SQUARE) == before  # nothing to write, nothing written

    added = ok(cli("secrets", "set", "square_signing", "previous_secret=old-square-key-kept-a-while"))
    assert added == f"{SQUARE}: set previous_secret (values not shown)\n"
    assert stored(runtime, SQUARE)["previous_secret"] == "old-square-key-kept-a-while"

    cleared = ok(
        cli("secrets", "set", "square_signing", "previous_secret=", "secret=sandbox-square-signature-key")
    )
    assert cleared == f"{SQUARE}: cleared previous_secret; unchanged secret (same value) (values not shown)\n"
    assert stored(runtime, SQUARE) == {"secret": "sandbox-square-signature-key"}
    assert "set previous_secret" not in cleared and "sandbox-square" not in cleared


def test_list_gives_each_connection_the_kind_its_declarations_make_it(
    runtime: LocalRuntime, cli: Any
) -> None:
    listed = ok(cli("secrets", "list"))
    lines = [ln.split() for ln in listed.splitlines() if ln.lstrip("/").startswith("switchboard/")]
    rows = {ln[0].removeprefix("/"): ln[2] for ln in lines}
    stores = {ln[0].removeprefix("/"): (ln[0], ln[3]) for ln in lines}
    assert rows["switchboard/local/stock_level_api_keys"] == "own-key"  # API keys callers present
    assert rows["switchboard/local/square_signing"] == "signing"
    assert rows["switchboard/local/hubspot"] == "api" and rows["switchboard/local/quickbooks"] == "oauth2"
    verifying = {t.secret.name for s in load_specs() for t in s.triggers if isinstance(t, WebhookTrigger)}
    for name, (conn, _used_by) in connections().items():
        kind = rows[f"switchboard/local/{name}"]
        assert kind == connection_kind(conn)
        assert (kind == "signing") == (name in verifying), name  # signing means: verifies webhooks
        # Verification keys are SSM parameters (named with a leading slash), credentials secrets.
        in_ssm = kind in ("signing", "own-key")
        expected = (
            (f"/switchboard/local/{name}", "ssm-parameter")
            if in_ssm
            else (f"switchboard/local/{name}", "secrets")
        )
        assert stores[f"switchboard/local/{name}"] == expected, name
    assert "KIND: api = " in listed and "own-key = " in listed


def test_show_reveals_only_the_local_sample_values(runtime: LocalRuntime, cli: Any) -> None:
    masked = ok(cli("secrets", "show", "square_signing"))
    assert "sandbox-square-signature-key" not in masked and "Shown:" not in masked

    revealed = ok(cli("secrets", "show", "square_signing", "--reveal"))
    assert "  secret            required  sandbox-square-signature-key\n" in revealed
    assert "(square, signing; used by " in revealed and "Shown: the local stand-ins' fixed sample" in revealed

    hubspot = ok(cli("secrets", "show", "hubspot", "--reveal"))
    assert "sandbox-hubspot-token" in hubspot and f"{runtime.url}/_sandbox/hubspot" in hubspot

    # A value set by hand is not a sample: it may be a real key, and stays masked.
    own = "sq0csp-my-real-looking-signature-key-0123456789"
    ok(cli("secrets", "set", "square_signing", f"secret={own}"))
    kept = ok(cli("secrets", "show", "square_signing", "--reveal"))
    assert own not in kept and "sq0…(47 chars)  (masked: not a local sample value)" in kept
    assert "Masked: values set here or written by Switchboard" in kept


def test_reveal_is_refused_on_a_deployed_stage(aws: boto3.session.Session, cli: Any) -> None:
    aws.client("ssm").put_parameter(
        Name="/switchboard/prod/square_signing",
        Value=json.dumps({"secret": "sandbox-square-signature-key"}),
        Type="SecureString",
    )
    done = cli("secrets", "show", "square_signing", "--reveal", "--stage", "prod", "--region", "us-east-1")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done
    assert done.stderr.startswith("switchboard: --reveal works on the local runtime only")
    assert "aws ssm get-parameter --with-decryption --name /switchboard/prod/square_signing" in done.stderr
    assert "sandbox-square-signature-key" not in done.stdout + done.stderr
    masked = cli("secrets", "show", "square_signing", "--stage", "prod", "--region", "us-east-1")
    assert masked.returncode == 0 and "sandbox-square" not in masked.stdout


def test_an_operator_only_key_is_not_a_secret_and_the_error_says_where_it_comes_from(
    aws: boto3.session.Session, cli: Any
) -> None:
    """No stage keeps Stripe's, Calendly's or Cal.com's key (only `webhooks register` uses them)."""
    for args in (("set", "stripe", "api_key=-"), ("show", "calendly")):
        done = cli("secrets", *args, "--stage", "prod", "--region", "us-east-1")
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done
        name = args[1]
        assert done.stderr.startswith(f"switchboard: {name} is not stored: no function uses it")
        assert f"takes it from {name.upper()}_" in done.stderr
    listed = cli("secrets", "list", "--stage", "prod", "--region", "us-east-1")
    assert listed.returncode == 0
    assert "switchboard/prod/stripe " not in listed.stdout and "switchboard/prod/square " in listed.stdout


def test_set_creates_a_signing_secrets_parameter_as_a_securestring_and_show_reads_it_back(
    aws: boto3.session.Session, cli: Any
) -> None:
    """On a deployed stage the stack creates no parameter (CloudFormation cannot make a SecureString):
    the first ``set`` does, encrypted; ``show`` reads it back masked; a second keeps the other fields."""
    ssm = aws.client("ssm")
    name = "/switchboard/prod/tally_signing"
    shown = cli("secrets", "show", "tally_signing", "--stage", "prod", "--region", "us-east-1")
    assert shown.returncode == 0 and "(not set)  <- the connection fails closed without it" in shown.stdout
    key = "tally-signing-key-0123456789abcdef"
    done = cli("secrets", "set", "tally_signing", f"secret={key}", "--stage", "prod", "--region", "us-east-1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{name}: set secret (values not shown)")
    found = ssm.get_parameter(Name=name)["Parameter"]
    # Encrypted: without WithDecryption the value is not the text (moto marks it with the key alias).
    assert found["Type"] == "SecureString" and found["Value"] != json.dumps({"secret": key})
    assert json.loads(ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]) == {
        "secret": key
    }
    assert not aws.client("secretsmanager").list_secrets()["SecretList"]  # nothing in Secrets Manager
    shown = cli("secrets", "show", "tally_signing", "--stage", "prod", "--region", "us-east-1")
    assert shown.returncode == 0 and key not in shown.stdout + shown.stderr
    assert shown.stdout.startswith(f"{name}  (tally, signing; ") and "tal…(34 chars)" in shown.stdout
