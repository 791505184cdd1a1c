"""LocalWebSocketGateway: API Gateway's WebSocket API on this machine, for the API the
template declares, invoking the template's handler files in Lambda-like worker processes.

Two listeners: the WebSocket endpoint (`ws://HOST:PORT/STAGE`) and the @connections API
(`http://HOST:MANAGEMENT_PORT/STAGE/@connections/{id}`) on a second port, because websockets'
HTTP layer refuses request bodies. Workers get the latter as WEBSOCKET_MANAGEMENT_ENDPOINT.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from mayachat_local.gateway import events
from mayachat_local.gateway.api_spec import CONNECT, DISCONNECT, read_websocket_api
from mayachat_local.gateway.connection import Connection, OpenConnections
from mayachat_local.gateway.connections_api import ConnectionsApi
from mayachat_local.gateway.handshake import authorize, client_info, refusal, run_connect
from mayachat_local.gateway.http_server import HttpServer
from mayachat_local.gateway.integration import Integrations, IntegrationTimeout
from mayachat_local.gateway.quotas import Quotas
from mayachat_local.gateway.routing import SelectionExpression, select_route
from mayachat_local.runtime.lambda_env import host_region, host_runtime
from mayachat_local.runtime.lambda_runtime import FunctionError, LambdaRuntime

log = logging.getLogger("mayachat_local.gateway")

DEFAULT_PORT = 3001
GOING_AWAY = 1001


class LocalWebSocketGateway:
    def __init__(
        self,
        template_path: str | Path = "template.yaml",
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        stage: str | None = None,
        env_overrides: Mapping[str, str] | None = None,
        quotas: Quotas | None = None,
        *,
        management_port: int | None = None,
        max_concurrency: int = 10,
        api: str | None = None,
    ) -> None:
        """`port` 0 picks a free port; `management_port` defaults to port + 1 (0 with port 0).
        `max_concurrency` caps the worker processes per function; `api` picks the API's
        logical id when the template declares more than one WebSocket API."""
        self.spec = read_websocket_api(template_path, api)
        self.host = host
        self.port = port
        self.management_port = (
            management_port if management_port is not None else (port + 1 if port else 0)
        )
        self.stage = stage or self.spec.stage or "local"
        self.quotas = quotas or Quotas()
        self.env_overrides = dict(env_overrides or {})
        self.max_concurrency = max_concurrency
        self.api_id = events.new_api_id()
        self.region = host_region(self.env_overrides)
        self.registry = OpenConnections()
        self._selector = SelectionExpression(self.spec.selection_expression)
        self._runtime: LambdaRuntime | None = None
        self._integrations: Integrations | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ws_server: Server | None = None
        self._http = HttpServer(
            ConnectionsApi(self.registry, self.stage, self.quotas, self._close_later).handle
        )
        self._pending: dict[ServerConnection, Connection] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        return f"ws://{self._public_host}:{self.port}/{self.stage}"

    @property
    def management_endpoint(self) -> str:
        return f"http://{self._public_host}:{self.management_port}/{self.stage}"

    @property
    def runtime(self) -> LambdaRuntime:
        if self._runtime is None:
            raise RuntimeError("the gateway is not started")
        return self._runtime

    @property
    def _integrate(self) -> Integrations:
        if self._integrations is None:
            raise RuntimeError("the gateway is not started")
        return self._integrations

    @property
    def _public_host(self) -> str:
        return "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host  # noqa: S104

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.management_port = await self._http.start(self.host, self.management_port)
        self._runtime = host_runtime(
            self.spec.functions,
            self.env_overrides,
            max_workers=self.max_concurrency,
            management_endpoint=self.management_endpoint,
        )
        self._integrations = Integrations(self._runtime, self.quotas.integration_timeout)
        q = self.quotas
        self._ws_server = await serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._process_request,
            # Message and frame quotas: websockets closes with 1009 over either.
            max_size=(q.max_message_bytes, q.max_frame_bytes),
            # API Gateway neither negotiates permessage-deflate nor pings clients.
            compression=None,
            ping_interval=None,
            # The authorizer and $connect run inside the handshake.
            open_timeout=None,
            # Above the @connections buffer cap, so posting never waits on a slow reader.
            write_limit=q.max_outbound_buffer_bytes + 4 * q.max_message_bytes,
            server_header=None,
        )
        self.port = int(self._ws_server.sockets[0].getsockname()[1])
        log.info(
            "WebSocket API %s (%d routes) at %s; @connections at %s",
            self.spec.logical_id,
            len(self.spec.routes),
            self.url,
            self.management_endpoint,
        )

    async def stop(self) -> None:
        """Close every connection (1001, each runs $disconnect), then stop the workers."""
        if self._ws_server is not None:
            self._ws_server.close(close_connections=True)
            await self._ws_server.wait_closed()
            self._ws_server = None
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks), timeout=5)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._integrations is not None:
            await self._integrations.drain(timeout=5)
        await self._http.close()
        if self._runtime is not None:
            await self._runtime.close()

    async def __aenter__(self) -> LocalWebSocketGateway:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def reload(self, function: str | None = None) -> None:
        """Retire warm workers (of one function, or all): the next call imports afresh.
        Safe to call from another thread (a file watcher, a test)."""
        runtime, loop = self.runtime, self._loop
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if loop is None or here is loop:
            runtime.reload(function)
        else:
            loop.call_soon_threadsafe(runtime.reload, function)

    # ------------------------------------------------------------------ handshake
    async def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        path = request.path.partition("?")[0]
        if path.rstrip("/") not in ("", f"/{self.stage}"):
            return refusal(403)
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        if not upgrade or "Sec-WebSocket-Key" not in request.headers:
            return None  # not a WebSocket handshake: websockets answers it (426 / 400)
        client = client_info(ws, request, api_id=self.api_id, stage=self.stage, port=self.port)
        if self.spec.authorizer is not None:
            decision = await authorize(
                self.spec.authorizer, client, region=self.region, integrate=self._integrate
            )
            if decision.status is not None:
                log.info("handshake refused %d: %s", decision.status, decision.reason)
                return refusal(decision.status)
        connection = Connection(client)
        self.registry.add(connection)  # @connections knows it (410 until it is open)
        status = await run_connect(self.spec.routes.get(CONNECT), client, self._integrate)
        if not 200 <= status < 300:
            self.registry.remove(connection)
            log.info("handshake refused %d by $connect (%s)", status, connection.id)
            return refusal(status)
        if ws.transport.is_closing():  # the client left during $connect: no upgrade follows
            self.registry.remove(connection)
            return refusal(410)
        self._pending[ws] = connection
        return None

    # ------------------------------------------------------------------ connection
    async def _handle(self, ws: ServerConnection) -> None:
        connection = self._pending.pop(ws, None)
        if connection is None:  # pragma: no cover - websockets only calls us after an upgrade
            return
        connection.open(ws)
        log.info("connected %s", connection.id)  # no client IP at INFO
        watchdog = asyncio.create_task(self._watch(connection))
        try:
            async for message in ws:
                connection.touch(inbound=True)
                # Frames of one connection are integrated concurrently, as in AWS.
                self._spawn(self._on_message(connection, message))
        except ConnectionClosed:
            pass
        finally:
            watchdog.cancel()
            await ws.wait_closed()
            await self._disconnect(connection)

    async def _watch(self, connection: Connection) -> None:
        """Idle timeout and connection lifetime: both close with 1001 "Going away"."""
        while True:
            now = time.monotonic()
            deadline = min(
                connection.last_inbound + self.quotas.idle_timeout,
                connection.opened + self.quotas.max_lifetime,
            )
            if now >= deadline:
                self._spawn(connection.close(GOING_AWAY, "Going away"))
                return
            await asyncio.sleep(deadline - now)

    async def _on_message(self, connection: Connection, body: str | bytes) -> None:
        request_id = events.new_id()
        route = select_route(self._selector, body, self.spec.routes)
        if route is None:
            await self._error_frame(connection, "Forbidden", request_id)
            return
        event = events.message_event(
            connection.client,
            body,
            route_key=route,
            request_id=request_id,
            message_id=events.new_id(),
            request_ms=events.now_ms(),
        )
        try:
            result = await self._integrate(self.spec.routes[route], event)
        except FunctionError:
            await self._error_frame(connection, "Internal server error", request_id)
        except IntegrationTimeout:
            await self._error_frame(connection, "Endpoint request timed out", request_id)
        else:
            await self._route_response(connection, route, result)

    async def _route_response(self, connection: Connection, route: str, result: Any) -> None:
        """A two-way route sends the function's response body to the client, as a frame;
        a one-way route drops it (as API Gateway does, which hides a missing RouteResponse)."""
        body = result.get("body") if isinstance(result, dict) else None
        if not isinstance(body, str) or not body:
            return
        if route not in self.spec.two_way:
            log.warning(
                "route %s returned a body but has no route response: API Gateway drops it", route
            )
            return
        frame: str | bytes = base64.b64decode(body) if result.get("isBase64Encoded") else body
        if connection.is_open and connection.socket is not None:
            with contextlib.suppress(ConnectionClosed):
                await connection.socket.send(frame)
                connection.touch(inbound=False)

    async def _error_frame(self, connection: Connection, message: str, request_id: str) -> None:
        """API Gateway's own error frame, as a client sees it."""
        if not connection.is_open or connection.socket is None:
            return
        frame = {"message": message, "connectionId": connection.id, "requestId": request_id}
        with contextlib.suppress(ConnectionClosed):
            await connection.socket.send(json.dumps(frame))

    async def _disconnect(self, connection: Connection) -> None:
        """Exactly once per connection that completed $connect, whoever closed it."""
        if connection.disconnect_started:
            return
        connection.disconnect_started = True
        connection.state = "closed"
        self.registry.remove(connection)
        code, reason = connection.close_status()
        log.info("disconnected %s: %d %s", connection.id, code, reason)
        function = self.spec.routes.get(DISCONNECT)
        if function is None:
            return
        event = events.disconnect_event(
            connection.client, code, reason, request_id=events.new_id(), request_ms=events.now_ms()
        )
        # Failures are logged by the runtime; $disconnect is best-effort in AWS too.
        with contextlib.suppress(FunctionError, IntegrationTimeout):
            await self._integrate(function, event)

    def _close_later(self, connection: Connection) -> None:
        """@connections DELETE: answer 204 now, close in the background."""
        connection.server_close = connection.server_close or (1000, "Connection Closed Normally")
        self._spawn(connection.close(1000))

    # ------------------------------------------------------------------ helpers
    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            if not isinstance(exc, FunctionError | ConnectionClosed):
                log.error("background task failed", exc_info=exc)
