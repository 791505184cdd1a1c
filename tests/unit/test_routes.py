"""The route table (mayachat.edge.routes) is the one list of WebSocket routes: template.yaml,
the functions' folders, tests/events, docs/protocol.md and docs/asyncapi.yaml agree with it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from mayachat import protocol
from mayachat.edge.routes import DEFAULT, FRAME_ROUTES, FUNCTIONS, route_functions
from mayachat_local.gateway.api_spec import read_websocket_api

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
EVENTS = REPO / "tests" / "events"


def test_the_template_routes_every_key_of_the_table_to_its_function() -> None:
    api = read_websocket_api(TEMPLATE)
    assert api.routes == route_functions()


def test_each_function_folder_serves_its_row_of_the_table() -> None:
    api = read_websocket_api(TEMPLATE)
    for name in FUNCTIONS:
        app = (api.functions[name].code_uri / "app.py").read_text()
        assert f'websocket_handler("{name}")' in app, name


def test_every_frame_route_has_a_sample_event_its_model_accepts() -> None:
    sampled: set[str] = set()
    for path in EVENTS.glob("ws_*.json"):
        event = json.loads(path.read_text())
        route = event["requestContext"].get("routeKey")
        if route in FRAME_ROUTES:
            data = protocol.decode_body(event["body"], 32 * 1024)
            assert data["action"] == route, path.name
            protocol.parse_frame(FRAME_ROUTES[route].model, data, max_text=4000)
            sampled.add(route)
        elif route == DEFAULT:
            data = protocol.decode_body(event["body"], 32 * 1024)
            assert data.get("action") not in FRAME_ROUTES  # what $default exists for
    assert sampled == set(FRAME_ROUTES)


def test_docs_protocol_has_a_section_per_action() -> None:
    headings = re.findall(r"^### (.+)$", (REPO / "docs" / "protocol.md").read_text(), re.M)
    documented = {word for h in headings for word in re.split(r"[ ,]+", h)}
    assert set(FRAME_ROUTES) <= documented


def test_asyncapi_sends_exactly_the_table_with_the_models_required_fields() -> None:
    spec: dict[str, Any] = yaml.safe_load((REPO / "docs" / "asyncapi.yaml").read_text())
    schemas = spec["components"]["schemas"]

    def payload(operation: dict[str, Any]) -> dict[str, Any]:
        message = operation["messages"][0]["$ref"].rsplit("/", 1)[-1]
        ref = spec["channels"]["chat"]["messages"][message]["$ref"].rsplit("/", 1)[-1]
        schema_ref = spec["components"]["messages"][ref]["payload"]["$ref"]
        return dict(schemas[schema_ref.rsplit("/", 1)[-1]])

    sends = {k: v for k, v in spec["operations"].items() if v["action"] == "send"}
    assert set(sends) == set(FRAME_ROUTES)
    for key, operation in sends.items():
        schema = payload(operation)
        assert schema["properties"]["action"]["const"] == key
        model = FRAME_ROUTES[key].model
        required = {name for name, field in model.model_fields.items() if field.is_required()}
        assert set(schema["required"]) == required, key


def test_asyncapi_documents_each_server_frame_as_mayachat_frames_types_it() -> None:
    from mayachat import frames

    spec: dict[str, Any] = yaml.safe_load((REPO / "docs" / "asyncapi.yaml").read_text())
    schemas = spec["components"]["schemas"]
    typed = {
        "AckPayload": frames.Ack,
        "MessagePayload": frames.MessageEvent,
        "TypingEventPayload": frames.TypingEvent,
        "ReceiptPayload": frames.ReceiptEvent,
        "SyncPagePayload": frames.SyncPage,
        "PongPayload": frames.Pong,
        "PresenceEventPayload": frames.PresenceFrame,
        "UserPresence": frames.UserPresence,
        "ErrorPayload": frames.ErrorFrame,
        "ActionAckPayload": frames.ActionAck,
        "MessageEditedPayload": frames.MessageEdited,
        "MessageDeletedPayload": frames.MessageDeleted,
        "ReactionEventPayload": frames.ReactionEvent,
    }
    for name, frame in typed.items():
        assert set(schemas[name]["required"]) == set(frame.__required_keys__), name
        assert set(schemas[name]["properties"]) == set(frame.__annotations__), name


def test_the_template_has_every_block_a_route_and_its_function_need() -> None:
    """What template.yaml repeats per route and per function, checked from the table: a new
    action fails here naming the block it lacks (the stage deploys every route itself)."""
    from mayachat_local.runtime.template import load_template

    resources: dict[str, Any] = load_template(TEMPLATE)["Resources"]

    def of_type(kind: str) -> dict[str, dict[str, Any]]:
        return {k: v.get("Properties", {}) for k, v in resources.items() if v["Type"] == kind}

    routes = {p["RouteKey"]: name for name, p in of_type("AWS::ApiGatewayV2::Route").items()}
    responses = {
        p["RouteId"]["Ref"]: name for name, p in of_type("AWS::ApiGatewayV2::RouteResponse").items()
    }
    (stage,) = of_type("AWS::ApiGatewayV2::Stage").values()
    assert stage["AutoDeploy"] is True  # route changes deploy with the stack
    assert "DeploymentId" not in stage
    for key in route_functions():
        route = routes[key]
        if key in FRAME_ROUTES or key == DEFAULT:  # two-way: the answer is the response
            assert route in responses, f"{key}: no RouteResponse"

    def refs(kind: str, path: tuple[str, ...]) -> set[str]:
        found = set()
        for props in of_type(kind).values():
            value: Any = props
            for step in path:
                value = value[step] if isinstance(value, dict) else value[0][step]
            found.add(value["Ref"])
        return found

    permitted = refs("AWS::Lambda::Permission", ("FunctionName",))
    alarmed = [
        (p["MetricName"], p["Dimensions"][0]["Value"]["Ref"])
        for p in of_type("AWS::CloudWatch::Alarm").values()
        if p.get("Namespace") == "AWS/Lambda"
    ]
    for name in FUNCTIONS:
        # On its alias: SnapStart (template parameter) restores published versions only.
        assert f"{name}.Alias" in permitted, f"{name}: no Lambda::Permission for API Gateway"
        log_group = resources[name]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert resources[log_group]["Type"] == "AWS::Logs::LogGroup", name
        for metric in ("Errors", "Throttles"):
            assert (metric, name) in alarmed, f"{name}: no {metric} alarm"
