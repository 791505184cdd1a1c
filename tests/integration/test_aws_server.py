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
