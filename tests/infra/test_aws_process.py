"""The AWS emulation in a child process: reached like the threaded one, shows sent mail, ends cleanly."""

from __future__ import annotations

import socket

import boto3
import httpx
import pytest

from infra.local.aws_process import AwsProcess


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_child_serves_aws_and_what_ses_accepted() -> None:
    aws = AwsProcess(_free_port()).start()
    try:
        session = boto3.session.Session(
            region_name="eu-west-2", aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        sqs = session.client("sqs", endpoint_url=aws.endpoint)
        url = sqs.create_queue(QueueName="child-test")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="hello")
        [message] = sqs.receive_message(QueueUrl=url)["Messages"]
        assert message["Body"] == "hello"

        ses = session.client("ses", endpoint_url=aws.endpoint)
        ses.verify_email_identity(EmailAddress="shop@example.com")
        ses.send_email(
            Source="shop@example.com",
            Destination={"ToAddresses": ["ada@example.com"]},
            Message={"Subject": {"Data": "Your booking"}, "Body": {"Text": {"Data": "See you"}}},
        )
        [sent] = aws.ses_sent()
        assert sent["subject"] == "Your booking" and sent["destinations"]["ToAddresses"] == [
            "ada@example.com"
        ]
    finally:
        aws.stop()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{aws.endpoint}/moto-api/", timeout=2)


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match="AWS emulation process"):
            AwsProcess(port).start()
