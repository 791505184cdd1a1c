"""The @connections management API: POST (send), GET (describe), DELETE (close).

Paths are `/{stage}/@connections/{connectionId}` (and `/@connections/{id}`, as behind a custom
domain). Requests are SigV4-signed by boto3; signatures are not checked: the emulator is
for a developer's machine, and any key works, as it does with moto.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from websockets.exceptions import ConnectionClosed

from mayachat_local.gateway.connection import Connection, OpenConnections
from mayachat_local.gateway.events import iso_time, new_id
from mayachat_local.gateway.http_server import HttpRequest, HttpResponse
from mayachat_local.gateway.quotas import Quotas

_SEGMENT = "@connections"


def _json(status: int, payload: Any, error_type: str | None = None) -> HttpResponse:
    headers = [
        ("Content-Type", "application/json"),
        ("x-amzn-RequestId", str(uuid.uuid4())),
        ("x-amz-apigw-id", new_id()),
    ]
    if error_type is not None:
        # botocore reads the error code from this header for rest-json services.
        headers.append(("x-amzn-ErrorType", error_type))
    body = b"" if payload is None and status in (200, 204) else json.dumps(payload).encode()
    return HttpResponse(status, body, headers)


def gone() -> HttpResponse:
    return _json(410, {"message": None}, "GoneException")


def forbidden() -> HttpResponse:
    return _json(403, {"message": "Forbidden"}, "ForbiddenException")


class ConnectionsApi:
    def __init__(
        self,
        registry: OpenConnections,
        stage: str,
        quotas: Quotas,
        close_connection: Callable[[Connection], None],
    ) -> None:
        self._registry = registry
        self._stage = stage
        self._quotas = quotas
        self._close = close_connection

    def connection_id(self, target: str) -> str | None:
        """The id from `/{stage}/@connections/{id}`; None for any other path."""
        parts = [unquote(p) for p in target.split("?", 1)[0].split("/")]
        if len(parts) == 4 and parts[0] == "" and parts[1] == self._stage and parts[2] == _SEGMENT:
            return parts[3] or None
        if len(parts) == 3 and parts[0] == "" and parts[1] == _SEGMENT:
            return parts[2] or None
        return None

    async def handle(self, request: HttpRequest) -> HttpResponse:
        connection_id = self.connection_id(request.target)
        if connection_id is None:
            return forbidden()
        connection = self._registry.get(connection_id)
        if request.method == "POST":
            return await self._post(connection, request.body)
        if request.method == "GET":
            return self._get(connection)
        if request.method == "DELETE":
            if connection is None or not connection.is_open:
                return gone()
            self._close(connection)
            return _json(204, None)
        return forbidden()

    async def _post(self, connection: Connection | None, data: bytes) -> HttpResponse:
        if len(data) > self._quotas.max_message_bytes:
            return _json(413, {"message": "Message too long"}, "PayloadTooLargeException")
        # A connection still in $connect is not reachable yet: AWS answers 410 too.
        if connection is None or not connection.is_open or connection.socket is None:
            return gone()
        if connection.buffered_bytes() >= self._quotas.max_outbound_buffer_bytes:
            return _json(429, {"message": "client side buffer is full"}, "LimitExceededException")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        try:
            # Checking the buffer and writing happen without yielding to the loop, and the
            # server's write limit sits above our cap, so this never waits on the client.
            await connection.socket.send(data if text is None else text)
        except ConnectionClosed:
            return gone()
        connection.touch(inbound=False)
        return _json(200, None)

    @staticmethod
    def _get(connection: Connection | None) -> HttpResponse:
        if connection is None or not connection.is_open:
            return gone()
        client = connection.client
        return _json(
            200,
            {
                "connectedAt": iso_time(client.connected_at_ms),
                "identity": {"sourceIp": client.source_ip, "userAgent": client.user_agent or ""},
                "lastActiveAt": iso_time(connection.last_active_ms),
            },
        )
