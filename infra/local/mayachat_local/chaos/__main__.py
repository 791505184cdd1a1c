"""python -m mayachat_local.chaos [--faults a,b,...] [--duration-per-fault S] [--phones N]
[--rooms N] [--report PATH] [--bounded] [--list]"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
from pathlib import Path
from types import FrameType

from mayachat_local.chaos.config import RunConfig
from mayachat_local.chaos.nemesis import FAULTS
from mayachat_local.chaos.runner import run


def parse(argv: list[str]) -> RunConfig:
    parser = argparse.ArgumentParser(
        prog="python -m mayachat_local.chaos",
        description="Fault injection against a chaos stack of its own; checks every ack.",
    )
    parser.add_argument("--faults", default=",".join(FAULTS), help="comma-separated, in order")
    parser.add_argument("--duration-per-fault", type=float, default=None, metavar="S")
    parser.add_argument("--quiet", type=float, default=None, metavar="S", help="after each")
    parser.add_argument("--phones", type=int, default=6)
    parser.add_argument("--rooms", type=int, default=2)
    parser.add_argument("--report", type=Path, default=None, help="write the markdown here")
    parser.add_argument("--bounded", action="store_true", help="the short run (about 3 min)")
    parser.add_argument("--list", action="store_true", help="list the faults and exit")
    args = parser.parse_args(argv)
    if args.list:
        for fault in FAULTS.values():
            print(f"{fault.name:16} {fault.summary}")
        raise SystemExit(0)
    faults = tuple(f.strip() for f in args.faults.split(",") if f.strip())
    unknown = [f for f in faults if f not in FAULTS]
    if unknown:
        parser.error(f"unknown fault(s) {unknown}; known: {', '.join(FAULTS)}")
    if args.phones < 1 or args.rooms < 1:
        parser.error("--phones and --rooms must be at least 1")
    config = RunConfig(faults=faults, phones=args.phones, rooms=args.rooms, report=args.report)
    if args.bounded:
        config = config.shortened()
    if args.duration_per_fault is not None:
        config = dataclasses.replace(config, duration_per_fault=args.duration_per_fault)
    if args.quiet is not None:
        config = dataclasses.replace(config, quiet=args.quiet)
    return config


def main(argv: list[str]) -> int:
    config = parse(argv)
    stopping = False

    def terminate(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        if not stopping:  # the first one stops the run (teardown still runs); later ones wait
            stopping = True
            raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminate)
    try:
        return run(config)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
