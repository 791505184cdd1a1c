"""Run a gateway on its own event loop in a background thread, for synchronous callers
(pytest without an asyncio plugin, scripts, the e2e suite)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from mayachat_local.gateway.server import LocalWebSocketGateway


@contextlib.contextmanager
def run_in_thread(
    gateway: LocalWebSocketGateway, timeout: float = 30.0
) -> Iterator[LocalWebSocketGateway]:
    """Start `gateway` in a daemon thread; stop it (and its workers) on exit."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="local-ws-gateway", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(gateway.start(), loop).result(timeout)
        try:
            yield gateway
        finally:
            asyncio.run_coroutine_threadsafe(gateway.stop(), loop).result(timeout)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        loop.close()
