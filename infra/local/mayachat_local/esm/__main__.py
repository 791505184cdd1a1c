"""`python -m mayachat_local.esm`: the MSK event-source mappings of template.yaml, in the
foreground, until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys

from mayachat.settings import ConfigError
from mayachat_local.esm.service import LocalEventSourceMappings
from mayachat_local.runtime.template import TemplateError


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"{flag} {item!r}: expected KEY=VALUE")
        pairs[key] = value
    return pairs


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m mayachat_local.esm",
        description="Lambda's MSK event-source mappings for the MSK events in a SAM template, "
        "against the Kafka broker in KAFKA_BROKERS.",
    )
    parser.add_argument("--template", default="template.yaml", help="SAM template path")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment for the mappings and every function, over the template's (repeatable)",
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a template parameter override (repeatable)",
    )
    parser.add_argument(
        "--mapping", action="append", default=None, help="run only this Function.Event (repeatable)"
    )
    parser.add_argument("--max-concurrency", type=int, default=10, help="workers per function")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


async def _run(args: argparse.Namespace) -> None:
    overrides = _pairs(args.env, "--env")
    # The mappings' own Kafka settings come from the environment too, like the functions'.
    os.environ.update(overrides)
    esm = LocalEventSourceMappings(
        args.template,
        overrides,
        parameter_overrides=_pairs(args.parameter, "--parameter"),
        only=args.mapping,
        max_concurrency=args.max_concurrency,
    )
    if not esm.specs:
        raise TemplateError(f"{args.template}: no MSK event to run")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await esm.start()
    for spec in esm.specs.values():
        destination = spec.destination.uri if spec.destination else "none"
        print(
            f"{spec.name}: {spec.topic} -> {spec.function} (group {spec.group_id}, "
            f"on failure: {destination})",
            flush=True,
        )
    try:
        await stop.wait()
    finally:
        await esm.stop()


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        asyncio.run(_run(args))
    except (TemplateError, ConfigError, ValueError, OSError) as exc:
        print(f"esm: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
