"""Route selection, the authorizer's answer, and the worker environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mayachat_local.gateway.authorizer import (
    authorizer_context,
    decide,
    decision_for_error,
    identity_present,
)
from mayachat_local.gateway.routing import SelectionExpression, select_route
from mayachat_local.runtime.lambda_env import worker_environment
from mayachat_local.runtime.lambda_runtime import FunctionError
from mayachat_local.runtime.template import FunctionSpec

ROUTES = {"$connect", "$disconnect", "$default", "sendMessage"}
ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/$connect"


@pytest.mark.parametrize(
    ("body", "route"),
    [
        ('{"action": "sendMessage"}', "sendMessage"),
        ('{"action": "unknown"}', "$default"),
        ('{"action": "$disconnect"}', "$default"),
        ('{"action": ["sendMessage"]}', "$default"),
        ('"sendMessage"', "$default"),
        ("{not json", "$default"),
        (b'{"action": "sendMessage"}', "$default"),  # binary frames are not routed by body
    ],
)
def test_select_route(body: str | bytes, route: str) -> None:
    assert select_route(SelectionExpression("$request.body.action"), body, ROUTES) == route


def test_without_default_nothing_is_selected() -> None:
    assert select_route(SelectionExpression("$request.body.action"), "x", {"a"}) is None


def test_nested_and_braced_expressions() -> None:
    expression = SelectionExpression("${request.body.meta.kind}")
    assert expression.evaluate('{"meta": {"kind": "k"}}') == "k"
    assert expression.evaluate('{"meta": "k"}') is None
    with pytest.raises(ValueError, match="unsupported"):
        SelectionExpression("$request.header.x")


def policy(effect: str, resource: Any = ARN, action: Any = "execute-api:Invoke") -> dict[str, Any]:
    return {
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": action, "Effect": effect, "Resource": resource}],
        },
        "context": {"userId": "u-1", "n": 3, "flag": True},
    }


def test_allow_policy() -> None:
    decision = decide(policy("Allow"), ARN)
    assert decision.allowed
    ctx = authorizer_context(decision, 12)
    assert ctx == {
        "userId": "u-1",
        "n": "3",
        "flag": "true",
        "principalId": "user-1",
        "integrationLatency": 12,
    }


@pytest.mark.parametrize(
    "resource", ["arn:aws:execute-api:us-east-1:123456789012:abcdef1234/*", ["*"], "arn:*/$connect"]
)
def test_wildcard_resources_allow(resource: Any) -> None:
    assert decide(policy("Allow", resource), ARN).allowed


@pytest.mark.parametrize(
    ("output", "status"),
    [
        (policy("Deny"), 403),
        (policy("Allow", "arn:aws:execute-api:us-east-1:123456789012:other/*"), 403),
        (policy("Allow", action="execute-api:ManageConnections"), 403),
        ({"principalId": "u", "policyDocument": {"Statement": []}}, 403),
        (None, 500),
        ({"policyDocument": policy("Allow")["policyDocument"]}, 500),  # no principalId
        ({**policy("Allow"), "context": {"nested": {"a": 1}}}, 500),
    ],
)
def test_refusals(output: Any, status: int) -> None:
    assert decide(output, ARN).status == status


def test_a_deny_wins_over_an_allow() -> None:
    output = policy("Allow")
    output["policyDocument"]["Statement"].append({"Action": "*", "Effect": "Deny", "Resource": "*"})
    assert decide(output, ARN).status == 403


def test_errors() -> None:
    assert decision_for_error(FunctionError("f", "Exception", "Unauthorized")).status == 401
    assert (
        decision_for_error(FunctionError("f", "Sandbox.Timedout", "Task timed out")).status == 500
    )


def test_identity_sources() -> None:
    query = ["route.request.querystring.token"]
    header = ["route.request.header.Auth"]
    assert identity_present(query, [], [("token", "t")])
    assert not identity_present(query, [], [("token", "")])
    assert not identity_present(query, [], [])
    assert identity_present(header, [("auth", "x")], [])
    assert not identity_present(header, [], [("Auth", "x")])


def spec() -> FunctionSpec:
    return FunctionSpec(
        logical_id="Fn",
        name="Fn",
        code_uri=Path("/code"),
        handler="app.handler",
        timeout=7,
        memory_size=256,
        environment={"FROM_TEMPLATE": "t", "BOTH": "template"},
    )


def test_worker_environment_layers() -> None:
    env = worker_environment(
        spec(),
        management_endpoint="http://127.0.0.1:3002/prod",
        overrides={"BOTH": "override", "WEBSOCKET_MANAGEMENT_ENDPOINT": "http://elsewhere"},
        base={"PATH": "/bin", "BOTH": "base", "WEBSOCKET_MANAGEMENT_ENDPOINT": "stale"},
    )
    assert env["PATH"] == "/bin"
    assert env["FROM_TEMPLATE"] == "t"
    assert env["BOTH"] == "override"
    assert env["WEBSOCKET_MANAGEMENT_ENDPOINT"] == "http://elsewhere"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "Fn"
    assert env["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "7"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_ACCESS_KEY_ID"]
    assert env["AWS_SECRET_ACCESS_KEY"]


def test_worker_environment_keeps_real_settings() -> None:
    env = worker_environment(
        spec(),
        management_endpoint="http://x/prod",
        base={"AWS_DEFAULT_REGION": "eu-west-1", "AWS_PROFILE": "dev"},
    )
    assert env["AWS_REGION"] == "eu-west-1"
    assert "AWS_ACCESS_KEY_ID" not in env
    assert env["WEBSOCKET_MANAGEMENT_ENDPOINT"] == "http://x/prod"
