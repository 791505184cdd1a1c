"""`make dev`: the whole system on this machine, in the foreground, until Ctrl-C.

Starts (or reuses) the backing services, then what template.yaml declares on top of them: the
API Gateway WebSocket API (route functions), the HTTP API (REST function) and the MSK
event-source mappings (persist function). Prints where everything listens, writes it to
.local/endpoints.json, and on Ctrl-C stops what this run started.

Also local-only conveniences: the web demo at http://127.0.0.1:3000/demo/, readable console
logs (one line per invocation and per function log event; the raw JSON lines go to
.local/logs/functions.log; MAYACHAT_LOG_FORMAT=raw shows them unchanged) and hot reload (an
edit to a handler or to layers/core/mayachat takes effect at the next invocation).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from mayachat_local.config import StackConfig
from mayachat_local.devtools.watch import Watcher
from mayachat_local.esm.service import LocalEventSourceMappings
from mayachat_local.gateway.server import LocalWebSocketGateway
from mayachat_local.http_api.server import LocalHttpApi
from mayachat_local.process import StackError, stop
from mayachat_local.runtime.logview import configure as configure_logging
from mayachat_local.stack import function_environment, say, up, update_endpoints

STAGE = "local"
log = logging.getLogger("mayachat_local.devtools.dev")


def watched_roots(repo: Path) -> list[Path]:
    """What hot reload watches: the handlers and the shared core (the layer's code)."""
    return [repo / "functions", repo / "layers" / "core" / "mayachat"]


def reloader(*services: Any) -> Any:
    """A watcher callback that retires every emulator's warm workers."""

    def reload(changed: list[Path]) -> None:
        names = ", ".join(p.name for p in changed[:5]) + (" ..." if len(changed) > 5 else "")
        log.info("changed: %s; reloading the functions", names)
        for service in services:
            service.reload()

    return reload


async def run(config: StackConfig) -> int:
    configure_logging(
        pretty=os.environ.get("MAYACHAT_LOG_FORMAT", "pretty") != "raw",
        raw_path=config.logs_dir / "functions.log",
    )
    say("starting the backing services (the first run downloads and builds: minutes)")
    try:
        statuses = up(config)
    except StackError as exc:
        say(f"error: {exc}")
        return 1
    endpoints = {s.name: s.endpoint for s in statuses}
    gateway = LocalWebSocketGateway(
        config.repo / "template.yaml",
        host=config.host,
        port=int(os.environ.get("MAYACHAT_WEBSOCKET_PORT", "3001")),
        stage=STAGE,
        env_overrides=function_environment(endpoints),
    )
    rest = LocalHttpApi(
        config.repo / "template.yaml",
        host=config.host,
        port=int(os.environ.get("MAYACHAT_REST_PORT", "3000")),
        env_overrides=function_environment(endpoints)
        | {"WEBSOCKET_MANAGEMENT_ENDPOINT": gateway.management_endpoint},
        demo=True,
    )
    mappings = LocalEventSourceMappings(
        config.repo / "template.yaml",
        env_overrides=function_environment(endpoints)
        | {"WEBSOCKET_MANAGEMENT_ENDPOINT": gateway.management_endpoint},
    )
    await gateway.start()
    rest.websocket_url = gateway.url  # the demo page's WebSocket (the port may be 0 → picked)
    await rest.start()
    await mappings.start()
    watcher = Watcher(watched_roots(config.repo), reloader(gateway, rest, mappings))
    watching = asyncio.create_task(watcher.run())
    endpoints |= {
        "websocket": gateway.url,
        "websocket_management": gateway.management_endpoint,
        "rest": rest.url,
    }
    update_endpoints(config, endpoints)
    width = max(map(len, endpoints))
    for name, url in endpoints.items():
        say(f"  {name:<{width}}  {url}")
    say(f"  {'demo':<{width}}  {rest.url}/demo/")
    say(
        f"ready: open {rest.url}/demo/ or chat from a terminal with  .venv/bin/python -m "
        "mayachat_local.devtools.client --user alice --room ROOM_ID   (Ctrl-C stops)"
    )

    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    try:
        await stopped.wait()
    finally:
        say("stopping")
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
        await mappings.stop()
        await rest.stop()
        await gateway.stop()
        for status in reversed(statuses):  # a server after its clients (FerretDB, then PostgreSQL)
            if status.state == "started":
                stop(config, status.name)
    return 0


def main() -> int:
    return asyncio.run(run(StackConfig.from_env()))


if __name__ == "__main__":
    sys.exit(main())
