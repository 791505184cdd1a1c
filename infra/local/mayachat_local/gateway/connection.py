"""One client connection as API Gateway tracks it, and the registry of live ones."""

from __future__ import annotations

import time

from websockets.asyncio.server import ServerConnection
from websockets.protocol import State

from mayachat_local.gateway.events import ClientInfo, now_ms

# disconnectReason texts. "Client-side close frame status not set" and "Connection Closed
# Normally" (DeleteConnection) are from captured AWS events; the others are ours.
_SERVER_REASONS = {
    1000: "Connection Closed Normally",
    1001: "Going away",
    1009: "Message too big",
    1011: "Internal server error",
}
_NO_STATUS = 1005
_ABNORMAL = 1006


class Connection:
    def __init__(self, client: ClientInfo) -> None:
        self.client = client
        self.socket: ServerConnection | None = None
        self.state = "connecting"  # -> "open" after $connect and the upgrade -> "closed"
        self.last_active_ms = client.connected_at_ms
        self.last_inbound = time.monotonic()  # the idle timer counts client messages
        self.opened = time.monotonic()
        self.server_close: tuple[int, str] | None = None  # set when the gateway closes it
        self.disconnect_started = False

    @property
    def id(self) -> str:
        return self.client.connection_id

    @property
    def is_open(self) -> bool:
        return (
            self.state == "open"
            and self.server_close is None
            and self.socket is not None
            and self.socket.state is State.OPEN
        )

    def open(self, socket: ServerConnection) -> None:
        self.socket = socket
        self.state = "open"
        self.opened = self.last_inbound = time.monotonic()

    def touch(self, *, inbound: bool) -> None:
        self.last_active_ms = now_ms()
        if inbound:
            self.last_inbound = time.monotonic()

    def buffered_bytes(self) -> int:
        transport = self.socket.transport if self.socket is not None else None
        return transport.get_write_buffer_size() if transport is not None else 0

    async def close(self, code: int, reason: str = "") -> None:
        """Close from the gateway's side; the first reason given is the one reported."""
        if self.server_close is None:
            self.server_close = (code, reason or _SERVER_REASONS.get(code, ""))
        if self.socket is not None:
            await self.socket.close(code, reason)

    def close_status(self) -> tuple[int, str]:
        """disconnectStatusCode and disconnectReason for $disconnect."""
        if self.server_close is not None:
            return self.server_close
        protocol = self.socket.protocol if self.socket is not None else None
        sent = protocol.close_sent if protocol is not None else None
        rcvd = protocol.close_rcvd if protocol is not None else None
        if protocol is not None and sent is not None and not protocol.close_rcvd_then_sent:
            # websockets closed it for us (a quota such as 1009) before the client did.
            return sent.code, _SERVER_REASONS.get(sent.code, sent.reason)
        if rcvd is not None:
            if rcvd.code == _NO_STATUS:
                return _NO_STATUS, "Client-side close frame status not set"
            return rcvd.code, rcvd.reason or f"Client-side close frame status set to {rcvd.code}"
        return _ABNORMAL, "Client closed the connection without a close frame"


class OpenConnections:
    """Connections by id, from the start of the handshake until $disconnect is sent."""

    def __init__(self) -> None:
        self._by_id: dict[str, Connection] = {}

    def add(self, connection: Connection) -> None:
        self._by_id[connection.id] = connection

    def remove(self, connection: Connection) -> None:
        if self._by_id.get(connection.id) is connection:
            del self._by_id[connection.id]

    def get(self, connection_id: str) -> Connection | None:
        return self._by_id.get(connection_id)

    def open_connections(self) -> list[Connection]:
        return [c for c in self._by_id.values() if c.is_open]

    def __len__(self) -> int:
        return len(self._by_id)
