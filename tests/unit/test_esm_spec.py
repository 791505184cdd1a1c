"""Reading the MSK event-source mappings out of a SAM template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mayachat_local.esm import LocalEventSourceMappings
from mayachat_local.esm.spec import read_mappings
from mayachat_local.runtime.template import TemplateError, load_template

ROOT = Path(__file__).resolve().parents[2]


def template(**event: Any) -> dict[str, Any]:
    props = {"Topics": ["orders"], "StartingPosition": "TRIM_HORIZON", **event}
    return {
        "Parameters": {"Dlq": {"Type": "String", "Default": "kafka://orders-failed"}},
        "Resources": {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "fn/",
                    "Handler": "app.handler",
                    "Events": {
                        "Orders": {"Type": "MSK", "Properties": props},
                        "Api": {"Type": "HttpApi", "Properties": {"Path": "/x"}},
                    },
                },
            }
        },
    }


def test_the_real_template_declares_one_mapping_per_topic() -> None:
    specs = read_mappings(load_template(ROOT / "template.yaml"))
    assert sorted(specs) == [
        "NotifyFunction.ChatMessages",
        "PersistFunction.ChatMessages",
        "PersistFunction.StateEvents",
        "PresenceFunction.PresenceChanges",
    ]
    presence = specs["PresenceFunction.PresenceChanges"]
    assert (presence.topic, presence.group_id, presence.auto_offset_reset) == (
        "chat-presence",
        "mayachat-presence",
        "latest",
    )
    notify = specs["NotifyFunction.ChatMessages"]
    # Its own group (pushes never hold up persistence), new messages only, a bounded retry.
    assert (notify.topic, notify.group_id, notify.auto_offset_reset) == (
        "chat-messages",
        "mayachat-notify",
        "latest",
    )
    assert (notify.max_retries, notify.report_item_failures) == (5, True)
    messages = specs["PersistFunction.ChatMessages"]
    assert (messages.function, messages.topic, messages.group_id) == (
        "PersistFunction",
        "chat-messages",
        "mayachat-persist",
    )
    assert (messages.batch_size, messages.window, messages.auto_offset_reset) == (
        500,
        0.5,
        "earliest",
    )
    assert messages.report_item_failures
    assert messages.bisect
    # Retried until stored: no limit, no destination to skip to (G4).
    assert (messages.max_retries, messages.retry_limit, messages.max_record_age) == (-1, None, -1)
    assert messages.destination is None
    # MskClusterArn has no default (the local emulator names its own cluster then); a !Ref
    # to a parameter resolves to the value given for it.
    assert messages.stream_arn is None
    given = "arn:aws:kafka:us-east-1:123456789012:cluster/mayachat/abc-1"
    with_arn = read_mappings(load_template(ROOT / "template.yaml"), {"MskClusterArn": given})
    assert with_arn["PersistFunction.ChatMessages"].stream_arn == given
    assert specs["PersistFunction.StateEvents"].topic == "message-persistence"


def test_lambda_defaults_apply() -> None:
    (spec,) = read_mappings(template()).values()
    assert spec.name == "Fn.Orders"
    assert spec.batch_size == 100
    assert spec.window == 0.5  # MSK's default batching window
    assert spec.group_id == "Fn.Orders"  # AWS: a value unique to the mapping
    assert not spec.report_item_failures
    assert not spec.bisect
    assert (spec.max_retries, spec.max_record_age) == (-1, -1)
    assert spec.destination is None
    assert spec.retry_limit is None  # retried until it succeeds: the partition stalls
    assert spec.stream_arn is None


def test_infinite_retries_with_a_destination_become_ten() -> None:
    dlq = {"OnFailure": {"Destination": {"Ref": "Dlq"}}}
    (spec,) = read_mappings(template(DestinationConfig=dlq)).values()
    assert spec.destination is not None
    assert spec.destination.kafka_topic == "orders-failed"
    assert spec.retry_limit == 10


def test_parameter_overrides_win_over_defaults() -> None:
    dlq = {"OnFailure": {"Destination": {"Ref": "Dlq"}}}
    arn = "arn:aws:sqs:eu-west-1:210987654321:orders-dlq"
    (spec,) = read_mappings(template(DestinationConfig=dlq), {"Dlq": arn}).values()
    assert spec.destination is not None
    assert spec.destination.sqs_queue == ("eu-west-1", "210987654321", "orders-dlq")
    assert spec.destination.kafka_topic is None


def test_latest_reads_from_the_end() -> None:
    (spec,) = read_mappings(template(StartingPosition="LATEST")).values()
    assert spec.auto_offset_reset == "latest"


def test_disabled_mappings_are_not_run() -> None:
    assert read_mappings(template(Enabled=False)) == {}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"Topics": ["a", "b"]}, "exactly one topic"),
        ({"Topics": []}, "exactly one topic"),
        ({"Topics": [{"Fn::Sub": "${AWS::StackName}-t"}]}, "cannot be resolved"),
        ({"StartingPosition": "AT_TIMESTAMP"}, "StartingPosition"),
        ({"StartingPosition": None}, "StartingPosition"),
        ({"BatchSize": 0}, "BatchSize"),
        ({"BatchSize": 10_001}, "BatchSize"),
        ({"MaximumBatchingWindowInSeconds": 301}, "MaximumBatchingWindowInSeconds"),
        ({"MaximumRetryAttempts": -2}, "MaximumRetryAttempts"),
        ({"MaximumRecordAgeInSeconds": 30}, "MaximumRecordAgeInSeconds"),
        ({"BisectBatchOnFunctionError": "sometimes"}, "true or false"),
        ({"FunctionResponseTypes": ["Other"]}, "FunctionResponseTypes"),
        ({"DestinationConfig": {"OnFailure": {"Destination": "kafka://orders"}}}, "source topic"),
        (
            {"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sns:us-east-1:1:t"}}},
            "not supported locally",
        ),
    ],
)
def test_what_lambda_would_refuse_is_refused(event: dict[str, Any], message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        read_mappings(template(**event))


def test_mappings_are_picked_by_name_and_groups_replaced() -> None:
    esm = LocalEventSourceMappings(
        ROOT / "template.yaml",
        only=["PersistFunction.StateEvents"],
        group_ids={"PersistFunction.StateEvents": "fresh-group"},
    )
    assert list(esm.specs) == ["PersistFunction.StateEvents"]
    assert esm.specs["PersistFunction.StateEvents"].group_id == "fresh-group"
    assert esm.functions["PersistFunction"].code_uri == ROOT / "functions" / "persist"
    assert esm.functions["PersistFunction"].timeout == 60
    with pytest.raises(ValueError, match="no MSK mapping named"):
        LocalEventSourceMappings(ROOT / "template.yaml", only=["PersistFunction.Nope"])
