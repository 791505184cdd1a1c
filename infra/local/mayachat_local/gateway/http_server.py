"""A small HTTP/1.1 server on asyncio streams, enough for the @connections API.

websockets' own HTTP handling refuses request bodies, and POST @connections has one; this
server adds keep-alive (boto3 pools connections) and Content-Length or chunked bodies.
Each client connection is its own task, so one slow request never holds up another.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger("mayachat_local.gateway.http")

_MAX_HEAD_LINES = 100


@dataclass
class HttpRequest:
    method: str
    target: str  # path and query, still percent-encoded
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class HttpResponse:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


class _BadRequest(Exception):
    pass


class HttpServer:
    def __init__(self, handler: Handler, *, max_body_bytes: int = 8 * 1024 * 1024) -> None:
        self._handler = handler
        self._max_body = max_body_bytes
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    async def start(self, host: str, port: int) -> int:
        """Listen; returns the bound port (useful with port 0)."""
        # A deep backlog: fan-out bursts open hundreds of connections at once.
        self._server = await asyncio.start_server(self._serve, host, port, backlog=2048)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._clients):
            writer.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            while True:
                try:
                    request = await self._read(reader, writer)
                except _BadRequest as exc:
                    await self._write(writer, HttpResponse(400, str(exc).encode()), close=True)
                    return
                if request is None:
                    return
                try:
                    response = await self._handler(request)
                except Exception:
                    log.exception("@connections failed: %s %s", request.method, request.target)
                    response = HttpResponse(500, b'{"message": "Internal server error"}')
                close = request.headers.get("connection", "").lower() == "close"
                await self._write(writer, response, close=close)
                if close:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._clients.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _read(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> HttpRequest | None:
        line = await reader.readline()
        if not line:
            return None
        try:
            method, target, _version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        except ValueError:
            raise _BadRequest("malformed request line") from None
        headers: dict[str, str] = {}
        for _ in range(_MAX_HEAD_LINES):
            raw = await reader.readline()
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        else:
            raise _BadRequest("too many header lines")
        if headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._read_chunked(reader)
        else:
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                raise _BadRequest("bad Content-Length") from None
            if length > self._max_body:
                raise _BadRequest("body too large")
            body = await reader.readexactly(length) if length else b""
        return HttpRequest(method.upper(), target, headers, body)

    async def _read_chunked(self, reader: asyncio.StreamReader) -> bytes:
        body = bytearray()
        while True:
            size_line = await reader.readline()
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadRequest("bad chunk size") from None
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return bytes(body)
            if len(body) + size > self._max_body:
                raise _BadRequest("body too large")
            body += await reader.readexactly(size)
            await reader.readline()

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, response: HttpResponse, *, close: bool) -> None:
        try:
            phrase = http.HTTPStatus(response.status).phrase
        except ValueError:
            phrase = "Unknown"
        head = [f"HTTP/1.1 {response.status} {phrase}"]
        head += [f"{name}: {value}" for name, value in response.headers]
        head.append(f"Content-Length: {len(response.body)}")
        head.append("Connection: close" if close else "Connection: keep-alive")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body)
        await writer.drain()
