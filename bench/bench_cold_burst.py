"""A burst on a cold system (issue 21): 20 sockets send 2,500 frames, most of them invalid, to
a gateway that has not started a worker yet. Time from the first frame until every frame is
answered, and how many answers were internal errors, with the runtime's cold starts paced
(InitGate: about one start per core) against unpaced (as many at once as frames ask for,
MAYACHAT_CONCURRENT_INITS=1000: the runtime before it), each on a fresh gateway process.

    .venv/bin/python bench/bench_cold_burst.py [--sockets 20] [--frames 125]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid

from common import ROOT, function_env, gateway_process, machine, start_stack, write_section

from mayachat_local.devtools.burst import everyone

UNPACED = "1000"


def one_burst(
    endpoints: dict[str, str], inits: str, sockets: int, frames: int
) -> tuple[float, int]:
    """(seconds until every frame was answered, internal errors) on a cold gateway."""
    saved = os.environ.get("MAYACHAT_CONCURRENT_INITS")
    os.environ["MAYACHAT_CONCURRENT_INITS"] = inits  # the gateway process inherits it
    try:
        env = {**function_env(endpoints), "POWERTOOLS_LOG_LEVEL": "ERROR"}
        with gateway_process(ROOT / "template.yaml", env) as gateway:
            users = [f"cold{i}-{uuid.uuid4().hex[:6]}" for i in range(sockets)]
            started = time.monotonic()
            answered = asyncio.run(everyone(gateway.url, users, frames))
            elapsed = time.monotonic() - started
    finally:
        if saved is None:
            os.environ.pop("MAYACHAT_CONCURRENT_INITS", None)
        else:
            os.environ["MAYACHAT_CONCURRENT_INITS"] = saved
    replies = [json.loads(a) for answers in answered for a in answers]
    errors = sum(1 for r in replies if "type" not in r or r.get("code") == "internal_error")
    return elapsed, errors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=20)
    parser.add_argument("--frames", type=int, default=125, help="per socket")
    args = parser.parse_args()
    endpoints = start_stack("kafka", "mongodb", "redis", "aws")
    cores = str(os.cpu_count() or 1)
    unpaced = one_burst(endpoints, UNPACED, args.sockets, args.frames)
    paced = one_burst(endpoints, cores, args.sockets, args.frames)
    total = args.sockets * args.frames
    # The burst itself lasts frames / 10 s (each socket under its 10/s refill): the floor.
    floor = args.frames / 10
    verdict = "met" if paced[1] == 0 else f"not met ({paced[1]} internal errors)"
    write_section(
        "cold_burst",
        f"""## A burst on a cold system (issue 21)

`.venv/bin/python bench/bench_cold_burst.py --sockets {args.sockets} --frames {args.frames}`
on {machine()}: {total} frames over {args.sockets} sockets (mostly invalid, each socket at
its rate limit, so sending takes {floor:.1f} s) to a fresh gateway with no warm worker.

| cold starts | until every frame answered | internal errors |
|---|---:|---:|
| unpaced (all at once: the runtime before) | {unpaced[0]:.1f} s | {unpaced[1]} |
| paced ({cores} at a time, this machine's cores) | {paced[0]:.1f} s | {paced[1]} |

Paced / unpaced: **{paced[0] / unpaced[0]:.2f}x** the time, and {paced[1]} internal errors
against {unpaced[1]}.

Verdict: every frame of a cold burst answered, none an internal error: **{verdict}**.
""",
    )


if __name__ == "__main__":
    main()
