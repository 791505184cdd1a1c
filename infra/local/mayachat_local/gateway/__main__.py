"""`python -m mayachat_local.gateway`: the WebSocket API of template.yaml, in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from mayachat_local.gateway.quotas import Quotas
from mayachat_local.gateway.server import DEFAULT_PORT, LocalWebSocketGateway
from mayachat_local.runtime.template import TemplateError


def _parse(argv: list[str]) -> argparse.Namespace:
    defaults = Quotas()
    parser = argparse.ArgumentParser(
        prog="python -m mayachat_local.gateway",
        description="Local API Gateway WebSocket API for the routes in a SAM template.",
    )
    parser.add_argument("--template", default="template.yaml", help="SAM template path")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="WebSocket port")
    parser.add_argument(
        "--management-port",
        type=int,
        default=None,
        help="@connections API port (default: port + 1)",
    )
    parser.add_argument("--stage", default=None, help="default: the template's stage, or 'local'")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment for every function, over the template's values (repeatable)",
    )
    parser.add_argument("--max-concurrency", type=int, default=10, help="workers per function")
    parser.add_argument("--idle-timeout", type=float, default=defaults.idle_timeout)
    parser.add_argument("--max-lifetime", type=float, default=defaults.max_lifetime)
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


async def _run(args: argparse.Namespace) -> None:
    overrides = {}
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--env {item!r}: expected KEY=VALUE")
        overrides[key] = value
    gateway = LocalWebSocketGateway(
        args.template,
        host=args.host,
        port=args.port,
        stage=args.stage,
        env_overrides=overrides,
        quotas=Quotas(idle_timeout=args.idle_timeout, max_lifetime=args.max_lifetime),
        management_port=args.management_port,
        max_concurrency=args.max_concurrency,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await gateway.start()
    print(f"WebSocket API:   {gateway.url}", flush=True)
    connections = f"{gateway.management_endpoint}/@connections/{{connectionId}}"
    print(f"@connections:    {connections}", flush=True)
    print(f"routes:          {', '.join(sorted(gateway.spec.routes))}", flush=True)
    try:
        await stop.wait()
    finally:
        await gateway.stop()


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    if logging.getLogger().level > logging.DEBUG:
        # websockets logs each connection's open and close; the gateway logs its own lines.
        logging.getLogger("websockets").setLevel(logging.WARNING)
    try:
        asyncio.run(_run(args))
    except (TemplateError, OSError) as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # pragma: no cover - signals are handled in _run
        pass
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
