"""A TCP proxy on a fixed loopback port, forwarding each connection to a target port that can
change: how the functions reach "the Redis endpoint" while the harness moves it, as
ElastiCache moves its primary endpoint on failover. Switching the target closes every
proxied connection (clients reconnect, to the new target).

The same class is the replica's replication link: `hold()` keeps back what the primary sends
(the replica falls behind, as an asynchronous replica does), `drop()` closes the link and
discards what was held.

It runs on its own event loop in a daemon thread; the public methods are for other threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
_CHUNK = 64 * 1024
_CONNECT_TIMEOUT = 2.0


class TcpProxy:
    def __init__(self, name: str, host: str, port: int, target_port: int) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.target_port = target_port
        self.connections_made = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._server: asyncio.Server | None = None
        self._pairs: set[_Pair] = set()
        self._flowing: asyncio.Event | None = None

    # ------------------------------------------------------------------ from other threads
    def start(self) -> None:
        self._thread.start()
        self._call(self._start())

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()

    def switch(self, target_port: int) -> int:
        """Forward new connections to `target_port`; close the current ones (how many)."""
        self.target_port = target_port
        return self._call(self._close_all())

    def drop(self) -> int:
        """Close every proxied connection now, discarding anything held back."""
        return self._call(self._close_all())

    def hold(self) -> None:
        """Stop passing on what the target sends (it waits in memory and kernel buffers)."""
        self._call(self._set_flowing(False))

    def release(self) -> None:
        self._call(self._set_flowing(True))

    @property
    def open_connections(self) -> int:
        return len(self._pairs)

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    # ------------------------------------------------------------------ on the proxy's loop
    async def _start(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server = await asyncio.start_server(self._serve, self.host, self.port)

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._close_all()
            await self._server.wait_closed()

    async def _set_flowing(self, flowing: bool) -> None:
        assert self._flowing is not None
        if flowing:
            self._flowing.set()
        else:
            self._flowing.clear()

    async def _close_all(self) -> int:
        pairs = list(self._pairs)
        for pair in pairs:
            pair.close()
        self._pairs.clear()
        return len(pairs)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            target_r, target_w = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.target_port), _CONNECT_TIMEOUT
            )
        except (OSError, TimeoutError):
            client_w.transport.abort()  # the target is down: the client sees a reset
            return
        self.connections_made += 1
        task = asyncio.current_task()
        assert task is not None
        assert self._flowing is not None
        pair = _Pair((client_w, target_w), task)
        self._pairs.add(pair)
        try:
            await asyncio.gather(
                _pump(client_r, target_w, None), _pump(target_r, client_w, self._flowing)
            )
        except (asyncio.CancelledError, OSError):
            pass
        finally:
            pair.close()
            self._pairs.discard(pair)


class _Pair:
    """Both sides of one proxied connection, and the task serving it."""

    def __init__(self, writers: tuple[asyncio.StreamWriter, ...], task: asyncio.Task[Any]) -> None:
        self.writers = writers
        self.task = task

    def close(self) -> None:
        # abort, not close: nothing still buffered (or held back) may reach the other side.
        for writer in self.writers:
            writer.transport.abort()
        if self.task is not asyncio.current_task():
            self.task.cancel()


async def _pump(
    source: asyncio.StreamReader, sink: asyncio.StreamWriter, gate: asyncio.Event | None
) -> None:
    """Copy until end of stream; `gate` (when given) must be open for data to pass."""
    while True:
        data = await source.read(_CHUNK)
        if not data:
            break
        if gate is not None:
            await gate.wait()
        sink.write(data)
        await sink.drain()
    sink.close()
