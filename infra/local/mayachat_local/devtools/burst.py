"""A burst of frames from many phones at once, most of them invalid, each phone under its
connection's rate limit: what a careless client fleet, a demo or a load test sends first.
Used by tests/e2e/test_cold_burst.py and bench/bench_cold_burst.py.

    .venv/bin/python -m mayachat_local.devtools.burst ws://127.0.0.1:3001/local [--sockets 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid

from websockets.asyncio.client import ClientConnection, connect

from mayachat_local.devtools.devauth import mint

FRAMES_PER_SOCKET = 125
WAVE = 10  # frames per socket per second: the connection's refill rate


def junk(rng: random.Random) -> str:
    """A frame a careless or hostile client sends: each kind gets exactly one answer."""
    room = f"dm-{uuid.uuid4().hex}"
    return rng.choice(
        [
            "hello",
            "{not json",
            json.dumps({"action": "fly"}),
            json.dumps({"noAction": True}),
            json.dumps({"action": "ping"}),
            json.dumps({"action": "sync", "roomId": room, "afterSeq": 0}),
            json.dumps(
                {
                    "action": "sendMessage",
                    "roomId": room,
                    "clientMsgId": uuid.uuid4().hex[:12],
                    "content": {"type": "text", "text": "x"},
                }
            ),
        ]
    )


async def burst(url: str, user: str, seed: int, frames: int = FRAMES_PER_SOCKET) -> list[str]:
    """One phone's share of the burst: the answers it got, in order."""
    rng = random.Random(seed)  # noqa: S311 - repeatable junk, not secrets
    answers: list[str] = []
    async with connect(f"{url}?token={mint(user)}", open_timeout=60) as ws:
        reader = asyncio.create_task(_read(ws, answers, frames))
        for start in range(0, frames, WAVE):
            for _ in range(min(WAVE, frames - start)):
                await ws.send(junk(rng))
            await asyncio.sleep(1.0)
        await asyncio.wait_for(reader, 120)
    return answers


async def _read(ws: ClientConnection, answers: list[str], count: int) -> None:
    while len(answers) < count:
        answers.append(str(await ws.recv()))


async def everyone(url: str, users: list[str], frames: int = FRAMES_PER_SOCKET) -> list[list[str]]:
    """Each user's answers, in order; every phone sends `frames` frames."""
    return list(
        await asyncio.gather(*(burst(url, user, i, frames) for i, user in enumerate(users)))
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the WebSocket API, e.g. ws://127.0.0.1:3001/local")
    parser.add_argument("--sockets", type=int, default=20)
    parser.add_argument("--frames", type=int, default=FRAMES_PER_SOCKET, help="per socket")
    args = parser.parse_args(argv)
    suffix = uuid.uuid4().hex[:6]
    users = [f"burst{i}-{suffix}" for i in range(args.sockets)]
    started = time.monotonic()
    answered = asyncio.run(everyone(args.url, users, args.frames))
    frames = [json.loads(a) for answers in answered for a in answers]
    failed = sum(1 for f in frames if "type" not in f or f.get("code") == "internal_error")
    print(f"{len(frames)} answers in {time.monotonic() - started:.1f} s; {failed} internal errors")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
