"""AWS APIs through moto's standalone server, reached only via AWS_ENDPOINT_URL."""

from __future__ import annotations

import json
import os
import uuid

import boto3


def test_a_secret_is_stored_and_read_back(aws_endpoint: str) -> None:
    assert os.environ["AWS_ENDPOINT_URL"] == aws_endpoint
    client = boto3.client("secretsmanager")  # no endpoint_url: the standard variable decides
    name = f"mayachat/test/{uuid.uuid4().hex}"
    value = json.dumps({"uri": "mongodb+srv://user:pass@cluster0.example.net/mayachat"})
    arn = client.create_secret(Name=name, SecretString=value)["ARN"]
    assert client.get_secret_value(SecretId=arn)["SecretString"] == value
    client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


def test_an_sqs_message_round_trips(aws_endpoint: str) -> None:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sqs.send_message(
        QueueUrl=url,
        MessageBody="poison",
        MessageAttributes={"reason": {"DataType": "String", "StringValue": "undecodable"}},
    )
    got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], WaitTimeSeconds=1)[
        "Messages"
    ]
    assert got[0]["Body"] == "poison"
    assert got[0]["MessageAttributes"]["reason"]["StringValue"] == "undecodable"
    sqs.delete_queue(QueueUrl=url)


def test_an_ssm_parameter_round_trips(aws_endpoint: str) -> None:
    ssm = boto3.client("ssm")
    name = f"/mayachat/test/{uuid.uuid4().hex}"
    ssm.put_parameter(Name=name, Value="issuer", Type="String")
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "issuer"


def test_the_functions_redis_user_comes_from_its_secret(
    aws_endpoint: str, redis_url: str, monkeypatch: object
) -> None:
    """REDIS_SECRET_ID (as in AWS, where services.yaml makes the ElastiCache user and its
    secret): the client authenticates as that user, here the local stack's ACL user."""
    import pytest
    from redis import Redis

    from mayachat import bootstrap
    from mayachat.adapters.redis_acl import USER
    from mayachat_local.services.redis import APP_PASSWORD

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    client = boto3.client("secretsmanager")
    secret = json.dumps({"username": USER, "password": APP_PASSWORD})
    arn = client.create_secret(Name=f"mayachat/test/{uuid.uuid4().hex}", SecretString=secret)["ARN"]
    monkeypatch.setenv("REDIS_SECRET_ID", arn)
    monkeypatch.setenv("REDIS_URL", redis_url)  # no credentials in the URL
    bootstrap.reset()
    try:
        connected: Redis = bootstrap.redis_client()
        assert connected.acl_whoami() == USER
    finally:
        bootstrap.reset()
        client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
