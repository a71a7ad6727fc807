"""Credentials from Secrets Manager (moto): absent, malformed or incomplete secrets, rotation, caching."""

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
    try:
        secrets.create_secret(Name=PREFIX + name, SecretString=text)
    except secrets.exceptions.ResourceExistsException:
        secrets.put_secret_value(SecretId=PREFIX + name, SecretString=text)


def test_connection_is_returned_as_strings(secrets: Any) -> None:
    store(secrets, "acme", {"token": "tok-1", "account": 42, "base_url": None, "extra": "x"})
    assert get_connection(runtime(), ACME) == {"token": "tok-1", "account": "42", "extra": "x"}


def test_absent_secret_is_missing_secret(aws: Any) -> None:
    with pytest.raises(MissingSecret) as info:
        get_connection(runtime(), ACME)
    assert info.value.message.startswith("secret switchboard/test/acme could not be read (")
    assert info.value.code == "missing_secret"
    assert isinstance(info.value, ConfigurationError)


@pytest.mark.parametrize("text", ["not json: hunter2-secret-value", "[1, 2, 3]", '"just a string"', "42"])
def test_secret_that_is_not_a_json_object_is_missing_secret(secrets: Any, text: str) -> None:
    store(secrets, "acme", text)
    with pytest.raises(MissingSecret) as info:
        get_connection(runtime(), ACME)
    assert info.value.message == "secret switchboard/test/acme is not a JSON object"
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
    assert info.value.message == f"secret switchboard/test/acme has no value for {missing}"
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
