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
        "ErrorPayload": frames.ErrorFrame,
    }
    for name, frame in typed.items():
        assert set(schemas[name]["required"]) == set(frame.__required_keys__), name
        assert set(schemas[name]["properties"]) == set(frame.__annotations__), name
