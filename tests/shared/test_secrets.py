"""Connection values from their store (moto): Secrets Manager for credentials, SSM SecureString
parameters for signing secrets; absent, malformed or incomplete values, rotation, caching."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from functions.website_to_crm.spec import SPEC
from shared.errors import ConfigurationError, MissingSecret
from shared.runtime import Runtime
from shared.secrets import get_connection, signing_secrets
from shared.spec import Connection

PREFIX = "switchboard/test/"
ACME = Connection(
    name="acme",
    app="acme",
    description="Acme API",
    fields=("token", "account"),
    optional=("base_url",),
)
SIGNING = Connection(
    name="acme_signing",
    app="acme",
    description="Acme webhooks",
    fields=("secret",),
    optional=("previous_secret",),
    kind="signing",
)


@pytest.fixture
def secrets(aws: boto3.session.Session) -> Any:
    return aws.client("secretsmanager")


def runtime(max_age: int = 0) -> Runtime:
    return Runtime(
        spec=SPEC,
        stage="test",
        queue_url="unused",
        dlq_url="unused",
        table="unused",
        bus="unused",
        secret_prefix=PREFIX,
        secret_max_age_s=max_age,
    )


def store(secrets: Any, name: str, value: Any) -> None:
    text = value if isinstance(value, str) else json.dumps(value)
    if name == SIGNING.name:  # kept in SSM, as shared.store decides by the kind
        put_parameter(name, text)
        return
    try:
        secrets.create_secret(Name=PREFIX + name, SecretString=text)
    except secrets.exceptions.ResourceExistsException:
        secrets.put_secret_value(SecretId=PREFIX + name, SecretString=text)


def put_parameter(name: str, text: str) -> None:
    boto3.client("ssm").put_parameter(
        Name="/" + PREFIX + name, Value=text, Type="SecureString", Overwrite=True
    )


FIX = "set it with `switchboard secrets set acme token=- account=-`"


def test_connection_is_returned_as_strings(secrets: Any) -> None:
    store(secrets, "acme", {"token": "tok-1", "account": 42, "base_url": None, "extra": "x"})
    assert get_connection(runtime(), ACME) == {"token": "tok-1", "account": "42", "extra": "x"}


def test_absent_secret_is_missing_secret(aws: Any) -> None:
    with pytest.raises(MissingSecret) as info:
        get_connection(runtime(), ACME)
    assert info.value.message.startswith("secret switchboard/test/acme could not be read (")
    assert info.value.message.endswith(FIX)
    assert info.value.code == "missing_secret"
    assert isinstance(info.value, ConfigurationError)


@pytest.mark.parametrize("text", ["not json: hunter2-secret-value", "[1, 2, 3]", '"just a string"', "42"])
def test_secret_that_is_not_a_json_object_is_missing_secret(secrets: Any, text: str) -> None:
    store(secrets, "acme", text)
    with pytest.raises(MissingSecret) as info:
        get_connection(runtime(), ACME)
    assert info.value.message == f"secret switchboard/test/acme is not a JSON object; {FIX}"
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    ("value", "missing"),
    [
        ({"account": "acct-9f8e7d-secret-ish"}, "token"),
        ({"token": "", "account": "acct-9f8e7d-secret-ish"}, "token"),
        ({"token": None, "account": "acct-9f8e7d-secret-ish"}, "token"),
        ({"token": "tok-very-secret-value"}, "account"),
        ({}, "token, account"),
    ],
)
def test_missing_field_names_the_field_not_the_value(
    secrets: Any, value: dict[str, Any], missing: str
) -> None:
    store(secrets, "acme", value)
    with pytest.raises(MissingSecret) as info:
        get_connection(runtime(), ACME)
    assert info.value.message == f"secret switchboard/test/acme has no value for {missing}; {FIX}"
    assert "acct-9f8e7d" not in str(info.value)
    assert "tok-very-secret-value" not in str(info.value)


def test_signing_secrets_during_a_rotation_returns_both(secrets: Any) -> None:
    store(secrets, "acme_signing", {"secret": "whsec_new", "previous_secret": "whsec_old"})
    assert signing_secrets(runtime(), SIGNING) == ["whsec_new", "whsec_old"]


@pytest.mark.parametrize("previous", [None, ""])
def test_signing_secrets_outside_a_rotation_returns_one(secrets: Any, previous: str | None) -> None:
    value: dict[str, Any] = {"secret": "whsec_only"}
    if previous is not None:
        value["previous_secret"] = previous
    store(secrets, "acme_signing", value)
    assert signing_secrets(runtime(), SIGNING) == ["whsec_only"]


def test_signing_secret_that_is_empty_is_missing_not_an_empty_list(secrets: Any) -> None:
    store(secrets, "acme_signing", {"secret": "", "previous_secret": "whsec_old"})
    with pytest.raises(MissingSecret, match="has no value for secret"):
        signing_secrets(runtime(), SIGNING)


def test_secret_is_cached_for_max_age(secrets: Any) -> None:
    store(secrets, "acme", {"token": "first", "account": "a"})
    rt = runtime(max_age=300)
    assert get_connection(rt, ACME)["token"] == "first"
    store(secrets, "acme", {"token": "second", "account": "a"})
    assert get_connection(rt, ACME)["token"] == "first"  # still cached


def test_cache_survives_the_secret_being_deleted(secrets: Any) -> None:
    store(secrets, "acme", {"token": "first", "account": "a"})
    rt = runtime(max_age=300)
    assert get_connection(rt, ACME)["token"] == "first"
    secrets.delete_secret(SecretId=PREFIX + "acme", ForceDeleteWithoutRecovery=True)
    assert get_connection(rt, ACME)["token"] == "first"


def test_max_age_zero_reads_every_time(secrets: Any) -> None:
    store(secrets, "acme", {"token": "first", "account": "a"})
    rt = runtime(max_age=0)
    assert get_connection(rt, ACME)["token"] == "first"
    store(secrets, "acme", {"token": "second", "account": "a"})
    assert get_connection(rt, ACME)["token"] == "second"
    secrets.delete_secret(SecretId=PREFIX + "acme", ForceDeleteWithoutRecovery=True)
    with pytest.raises(MissingSecret):
        get_connection(rt, ACME)


def test_signing_secret_is_read_from_its_ssm_parameter_decrypted(secrets: Any) -> None:
    put_parameter("acme_signing", json.dumps({"secret": "whsec_in_ssm"}))
    # A secret of the same name in Secrets Manager is not where a signing secret is kept.
    secrets.create_secret(Name=PREFIX + "acme_signing", SecretString=json.dumps({"secret": "whsec_stale"}))
    stored = boto3.client("ssm").get_parameter(Name="/switchboard/test/acme_signing")["Parameter"]
    assert stored["Type"] == "SecureString"
    assert stored["Value"] != json.dumps({"secret": "whsec_in_ssm"})  # encrypted at rest
    assert signing_secrets(runtime(), SIGNING) == ["whsec_in_ssm"]


def test_absent_parameter_names_it_and_the_command_that_sets_it(aws: Any) -> None:
    with pytest.raises(MissingSecret) as info:
        signing_secrets(runtime(), SIGNING)
    assert info.value.message == (
        "parameter /switchboard/test/acme_signing could not be read (ParameterNotFound); "
        "set it with `switchboard secrets set acme_signing secret=-`"
    )
    assert info.value.status == 500


def test_parameter_prefix_from_the_environment(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_INTEGRATION", SPEC.name)
    monkeypatch.setenv("SWITCHBOARD_TABLE", "t")
    monkeypatch.setenv("SWITCHBOARD_QUEUE_URL", "q")
    monkeypatch.setenv("SWITCHBOARD_DLQ_URL", "d")
    monkeypatch.setenv("SWITCHBOARD_SECRET_PREFIX", PREFIX)
    monkeypatch.setenv("SWITCHBOARD_PARAMETER_PREFIX", "/elsewhere/test/")
    boto3.client("ssm").put_parameter(
        Name="/elsewhere/test/acme_signing", Value=json.dumps({"secret": "whsec_x"}), Type="SecureString"
    )
    rt = Runtime.from_env(SPEC)
    rt.secret_max_age_s = 0
    assert signing_secrets(rt, SIGNING) == ["whsec_x"]


def test_parameter_is_cached_for_max_age_and_read_fresh_on_demand(aws: Any) -> None:
    put_parameter("acme_signing", json.dumps({"secret": "whsec_first"}))
    rt = runtime(max_age=300)
    assert signing_secrets(rt, SIGNING) == ["whsec_first"]
    put_parameter("acme_signing", json.dumps({"secret": "whsec_second", "previous_secret": "whsec_first"}))
    assert signing_secrets(rt, SIGNING) == ["whsec_first"]  # cached
    assert get_connection(rt, SIGNING, fresh=True)["secret"] == "whsec_second"
    assert signing_secrets(rt, SIGNING) == ["whsec_second", "whsec_first"]
