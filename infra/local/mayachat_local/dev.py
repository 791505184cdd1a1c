"""`make dev`: the whole system on this machine, in the foreground, until Ctrl-C.

Starts (or reuses) the backing services, then what template.yaml declares on top of them: the
API Gateway WebSocket API (route functions), the HTTP API (REST function) and the MSK
event-source mappings (persist function). Prints where everything listens, writes it to
.local/endpoints.json, and on Ctrl-C stops what this run started.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from mayachat_local.config import StackConfig
from mayachat_local.esm.service import LocalEventSourceMappings
from mayachat_local.gateway.server import LocalWebSocketGateway
from mayachat_local.http_api.server import LocalHttpApi
from mayachat_local.process import StackError, stop
from mayachat_local.stack import function_environment, say, up, update_endpoints

STAGE = "local"


async def run(config: StackConfig) -> int:
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
    )
    mappings = LocalEventSourceMappings(
        config.repo / "template.yaml",
        env_overrides=function_environment(endpoints)
        | {"WEBSOCKET_MANAGEMENT_ENDPOINT": gateway.management_endpoint},
    )
    await gateway.start()
    await rest.start()
    await mappings.start()
    endpoints |= {
        "websocket": gateway.url,
        "websocket_management": gateway.management_endpoint,
        "rest": rest.url,
    }
    update_endpoints(config, endpoints)
    width = max(map(len, endpoints))
    for name, url in endpoints.items():
        say(f"  {name:<{width}}  {url}")
    say(
        f'ready: connect with  .venv/bin/python -m websockets "{gateway.url}?token=$(make -s '
        'token USER=alice)"   (Ctrl-C stops)'
    )

    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    try:
        await stopped.wait()
    finally:
        say("stopping")
        await mappings.stop()
        await rest.stop()
        await gateway.stop()
        for status in statuses:
            if status.state == "started":
                stop(config, status.name)
    return 0


def main() -> int:
    return asyncio.run(run(StackConfig.from_env()))


if __name__ == "__main__":
    sys.exit(main())
