"""The events API Gateway (WebSocket API, Lambda proxy integration) sends to Lambda.

Shapes follow captured AWS events (AWS docs' REQUEST authorizer input; Powertools'
tests/events/apiGatewayWebSocketApi{Connect,Message,Disconnect}.json), key order included.
"""

from __future__ import annotations

import base64
import calendar
import os
import secrets
import string
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ACCOUNT_ID = "123456789012"  # the account moto and the docs' examples use
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_API_ID_CHARS = string.ascii_lowercase + string.digits


def new_id() -> str:
    """An id shaped like API Gateway's connection/request ids: 'BFaT_fALIAMCKug='."""
    return base64.urlsafe_b64encode(os.urandom(11)).decode()


def new_api_id() -> str:
    return "".join(secrets.choice(_API_ID_CHARS) for _ in range(10))


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def clf_time(epoch_ms: int) -> str:
    """'11/Nov/2024:13:45:46 +0000', independent of the locale."""
    t = time.gmtime(epoch_ms / 1000)
    clock = time.strftime("%H:%M:%S", t)
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{clock} +0000"


def iso_time(epoch_ms: int) -> str:
    t = time.gmtime(epoch_ms / 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{epoch_ms % 1000:03d}Z"


def epoch_ms_of(iso: str) -> int:
    """Inverse of iso_time (for tests and logs)."""
    seconds, millis = iso.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(seconds, "%Y-%m-%dT%H:%M:%S")) * 1000 + int(millis)


def method_arn(region: str, api_id: str, stage: str, route_key: str) -> str:
    return f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{api_id}/{stage}/{route_key}"


@dataclass
class ClientInfo:
    """What API Gateway knows about a connection, captured at the handshake."""

    connection_id: str
    api_id: str
    stage: str
    domain_name: str
    source_ip: str
    user_agent: str | None
    connected_at_ms: int
    headers: list[tuple[str, str]]  # as sent, plus the X-Forwarded-* API Gateway adds
    query: list[tuple[str, str]]
    authorizer: dict[str, Any] | None = field(default=None)  # requestContext.authorizer


def gateway_headers(
    raw: Iterable[tuple[str, str]], *, source_ip: str, port: int, proto: str
) -> list[tuple[str, str]]:
    """The client's handshake headers plus those API Gateway's front end adds."""
    headers = list(raw)
    present = {name.lower() for name, _ in headers}
    trace = f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    for name, value in (
        ("X-Amzn-Trace-Id", trace),
        ("X-Forwarded-For", source_ip),
        ("X-Forwarded-Port", str(port)),
        ("X-Forwarded-Proto", proto),
    ):
        if name.lower() not in present:
            headers.append((name, value))
    return headers


def single_and_multi(
    pairs: Iterable[tuple[str, str]],
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """API Gateway's two views: the last value per name, and every value per name."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def request_context(
    client: ClientInfo,
    *,
    route_key: str,
    event_type: str,
    request_id: str,
    request_ms: int,
    message_id: str | None = None,
    disconnect: tuple[int, str] | None = None,
    with_authorizer: bool = True,
) -> dict[str, Any]:
    ctx: dict[str, Any] = {"routeKey": route_key}
    if message_id is not None:
        ctx["messageId"] = message_id
    if disconnect is not None:
        ctx["disconnectStatusCode"] = disconnect[0]
    if with_authorizer and client.authorizer is not None:
        ctx["authorizer"] = dict(client.authorizer)
    ctx["eventType"] = event_type
    ctx["extendedRequestId"] = request_id
    ctx["requestTime"] = clf_time(request_ms)
    ctx["messageDirection"] = "IN"
    if disconnect is not None:
        ctx["disconnectReason"] = disconnect[1]
    identity: dict[str, str] = {"sourceIp": client.source_ip}
    if client.user_agent is not None:
        identity["userAgent"] = client.user_agent
    ctx.update(
        {
            "stage": client.stage,
            "connectedAt": client.connected_at_ms,
            "requestTimeEpoch": request_ms,
            "identity": identity,
            "requestId": request_id,
            "domainName": client.domain_name,
            "connectionId": client.connection_id,
            "apiId": client.api_id,
        }
    )
    return ctx


def authorizer_event(
    client: ClientInfo, *, region: str, request_id: str, request_ms: int
) -> dict[str, Any]:
    headers, multi_headers = single_and_multi(client.headers)
    query, multi_query = single_and_multi(client.query)
    return {
        "type": "REQUEST",
        "methodArn": method_arn(region, client.api_id, client.stage, "$connect"),
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "stageVariables": {},
        "requestContext": request_context(
            client,
            route_key="$connect",
            event_type="CONNECT",
            request_id=request_id,
            request_ms=request_ms,
            with_authorizer=False,
        ),
    }


def connect_event(client: ClientInfo, *, request_id: str, request_ms: int) -> dict[str, Any]:
    headers, multi_headers = single_and_multi(client.headers)
    event: dict[str, Any] = {"headers": headers, "multiValueHeaders": multi_headers}
    if client.query:  # absent, not empty, when the URL has no query string
        query, multi_query = single_and_multi(client.query)
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = multi_query
    event["requestContext"] = request_context(
        client,
        route_key="$connect",
        event_type="CONNECT",
        request_id=request_id,
        request_ms=request_ms,
    )
    event["isBase64Encoded"] = False
    return event


def message_event(
    client: ClientInfo,
    body: str | bytes,
    *,
    route_key: str,
    request_id: str,
    message_id: str,
    request_ms: int,
) -> dict[str, Any]:
    binary = isinstance(body, bytes)
    return {
        "requestContext": request_context(
            client,
            route_key=route_key,
            event_type="MESSAGE",
            request_id=request_id,
            request_ms=request_ms,
            message_id=message_id,
        ),
        "body": base64.b64encode(body).decode() if isinstance(body, bytes) else body,
        "isBase64Encoded": binary,
    }


def disconnect_event(
    client: ClientInfo, status_code: int, reason: str, *, request_id: str, request_ms: int
) -> dict[str, Any]:
    # $disconnect carries no client headers, only these (as captured from AWS).
    headers, multi_headers = single_and_multi(
        [
            ("Host", client.domain_name),
            ("x-api-key", ""),
            ("X-Forwarded-For", ""),
            ("x-restapi", ""),
        ]
    )
    return {
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "requestContext": request_context(
            client,
            route_key="$disconnect",
            event_type="DISCONNECT",
            request_id=request_id,
            request_ms=request_ms,
            disconnect=(status_code, reason),
        ),
        "isBase64Encoded": False,
    }
