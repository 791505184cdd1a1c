"""Run an asyncio service (the WebSocket gateway, the MSK event-source mappings) on its own
event loop in a background thread, for synchronous callers (pytest without an asyncio plugin,
scripts, the e2e suite)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Iterator
from typing import Protocol, TypeVar


class Service(Protocol):
    def start(self) -> Awaitable[None]: ...

    def stop(self) -> Awaitable[None]: ...


S = TypeVar("S", bound=Service)


@contextlib.contextmanager
def run_in_thread(service: S, timeout: float = 30.0, name: str | None = None) -> Iterator[S]:
    """Start `service` in a daemon thread; stop it (and its workers) on exit."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(
        target=loop.run_forever, name=name or f"local-{type(service).__name__}", daemon=True
    )
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(_awaited(service.start()), loop).result(timeout)
        try:
            yield service
        finally:
            asyncio.run_coroutine_threadsafe(_awaited(service.stop()), loop).result(timeout)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        loop.close()


async def _awaited(step: Awaitable[None]) -> None:
    await step
