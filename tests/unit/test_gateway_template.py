"""Reading the WebSocket API from a SAM template: routes, authorizer, functions, stage."""

from __future__ import annotations

from pathlib import Path

import pytest

from mayachat_local.gateway.api_spec import read_websocket_api
from mayachat_local.runtime.template import TemplateError, function_spec, load_template

REPO = Path(__file__).parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "gateway" / "template.yaml"


def test_short_tags_become_intrinsic_dicts(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n"
        "  A:\n"
        "    Type: X\n"
        "    Properties:\n"
        "      R: !Ref B\n"
        "      S: !Sub 'x-${B.Arn}'\n"
        "      G: !GetAtt B.Arn\n"
        "      J: !Join ['/', [a, !Ref B]]\n"
    )
    props = load_template(path)["Resources"]["A"]["Properties"]
    assert props == {
        "R": {"Ref": "B"},
        "S": {"Fn::Sub": "x-${B.Arn}"},
        "G": {"Fn::GetAtt": ["B", "Arn"]},
        "J": {"Fn::Join": ["/", ["a", {"Ref": "B"}]]},
    }


def test_the_real_template_declares_every_route_with_its_function() -> None:
    api = read_websocket_api(REPO / "template.yaml")
    assert api.selection_expression == "$request.body.action"
    assert api.stage == "prod"  # the StageName parameter's default
    assert api.routes["$connect"] == "WsConnectFunction"
    assert api.routes["$disconnect"] == "WsDisconnectFunction"
    assert api.routes["$default"] == "WsDefaultFunction"
    assert api.routes["sendMessage"] == "WsSendMessageFunction"
    assert api.authorizer is not None
    assert api.authorizer.function == "WsAuthorizerFunction"
    assert api.authorizer.identity_sources == ("route.request.querystring.token",)
    assert set(api.functions) == {*api.routes.values(), "WsAuthorizerFunction"}
    # Every frame route answers in its response body (ack, pong, error): all are two-way.
    assert api.two_way == set(api.routes) - {"$connect", "$disconnect"}
    for spec in api.functions.values():
        assert spec.code_uri.parent == REPO / "functions"
        assert spec.handler == "app.handler"
        # Globals are merged; intrinsics (!Ref, !Sub) are left out.
        assert spec.environment["POWERTOOLS_SERVICE_NAME"] == "mayachat"
        assert "WEBSOCKET_MANAGEMENT_ENDPOINT" not in spec.environment
        assert "REDIS_URL" not in spec.environment
    authorizer = api.functions["WsAuthorizerFunction"]
    assert (authorizer.timeout, authorizer.memory_size) == (5, 256)  # its own values
    connect = api.functions["WsConnectFunction"]
    assert (connect.timeout, connect.memory_size) == (10, 512)  # from Globals


def test_the_fixture_template() -> None:
    api = read_websocket_api(FIXTURE)
    assert api.stage == "test"
    assert api.routes["slow"] == "SlowFunction"  # a Join target, not a Sub
    echo = api.functions["EchoFunction"]
    assert echo.environment == {
        "GLOBAL_PLAIN": "from-globals",
        "SHADOWED": "function",
        "FUNCTION_NUMBER": "42",
    }
    assert (echo.timeout, echo.memory_size) == (5, 256)
    assert api.functions["SleeperFunction"].timeout == 1


def test_lambda_defaults_apply_without_globals(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n"
        "  Fn:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties: {CodeUri: src/, Handler: pkg.mod.handler, FunctionName: my-fn}\n"
    )
    spec = function_spec(load_template(path), "Fn", tmp_path)
    assert (spec.timeout, spec.memory_size) == (3, 128)
    assert spec.name == "my-fn"
    assert spec.code_uri == tmp_path / "src"


def test_a_template_without_a_websocket_api_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n")
    with pytest.raises(TemplateError, match="WEBSOCKET"):
        read_websocket_api(path)
