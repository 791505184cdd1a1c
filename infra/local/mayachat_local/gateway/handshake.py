"""The opening handshake as API Gateway runs it: what it knows about the client, the
REQUEST authorizer, then $connect; any refusal is an HTTP answer instead of the upgrade."""

from __future__ import annotations

import email.utils
import http
import json
import logging
import time
from collections.abc import Mapping
from urllib.parse import parse_qsl

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from mayachat_local.gateway import events
from mayachat_local.gateway.api_spec import AuthorizerSpec
from mayachat_local.gateway.authorizer import (
    Decision,
    authorizer_context,
    decide,
    decision_for_error,
    identity_present,
)
from mayachat_local.gateway.integration import Integrations, IntegrationTimeout
from mayachat_local.runtime.lambda_runtime import FunctionError, log_failure

log = logging.getLogger("mayachat_local.gateway")

MESSAGES = {
    401: "Unauthorized",
    403: "Forbidden",
    410: "Gone",
    500: "Internal server error",
    504: "Endpoint request timed out",
}


def client_info(
    ws: ServerConnection, request: Request, *, api_id: str, stage: str, port: int
) -> events.ClientInfo:
    _, _, query = request.path.partition("?")
    source_ip = str(ws.remote_address[0]) if ws.remote_address else "127.0.0.1"
    return events.ClientInfo(
        connection_id=events.new_id(),
        api_id=api_id,
        stage=stage,
        domain_name=request.headers.get("Host", f"127.0.0.1:{port}"),
        source_ip=source_ip,
        user_agent=request.headers.get("User-Agent"),
        connected_at_ms=events.now_ms(),
        headers=events.gateway_headers(
            request.headers.raw_items(), source_ip=source_ip, port=port, proto="http"
        ),
        query=parse_qsl(query, keep_blank_values=True),
    )


async def authorize(
    spec: AuthorizerSpec, client: events.ClientInfo, *, region: str, integrate: Integrations
) -> Decision:
    """Run the REQUEST authorizer; on Allow, `client.authorizer` gets its context."""
    if not identity_present(spec.identity_sources, client.headers, client.query):
        return Decision(401, reason=f"identity source missing: {spec.identity_sources}")
    event = events.authorizer_event(
        client, region=region, request_id=events.new_id(), request_ms=events.now_ms()
    )
    started = time.monotonic()
    try:
        output = await integrate(spec.function, event, log_errors=False)
    except FunctionError as exc:
        decision = decision_for_error(exc)
        if decision.status != 401:  # "Unauthorized" is an answer, not a failure
            log_failure(exc, event)
        return decision
    except IntegrationTimeout:
        return Decision(500, reason="authorizer timed out")
    decision = decide(output, event["methodArn"])
    if decision.allowed:
        latency = int((time.monotonic() - started) * 1000)
        client.authorizer = authorizer_context(decision, latency)
    return decision


async def run_connect(
    function: str | None, client: events.ClientInfo, integrate: Integrations
) -> int:
    """The HTTP status $connect answers: its statusCode (200 when it gives none), 500 when
    it fails, 504 past the integration timeout."""
    if function is None:
        return 200  # no $connect route: API Gateway accepts the connection
    event = events.connect_event(client, request_id=events.new_id(), request_ms=events.now_ms())
    try:
        result = await integrate(function, event)
    except FunctionError:
        return 500
    except IntegrationTimeout:
        return 504
    if not isinstance(result, Mapping) or "statusCode" not in result:
        return 200
    try:
        return int(result["statusCode"])
    except (TypeError, ValueError):
        return 500


def refusal(status: int) -> Response:
    """A refused handshake, with API Gateway's JSON error body."""
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    body = json.dumps({"message": MESSAGES.get(status, phrase)}).encode()
    headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
        ]
    )
    return Response(status, phrase, headers, body)
