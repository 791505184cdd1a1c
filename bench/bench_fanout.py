"""Delivery fan-out: send -> message frame received by every other online member, through the
local API Gateway and the real sendMessage function, rooms of 2, 5, 50 and 500 online members.
Target: the 500-member fan-out costs under 10x the 5-member one (concurrent posts, not a loop
of round trips). With --before REV the same rooms are also measured against an earlier commit's
functions (a git worktree), interleaved round by round, for before/after in the same run.

    .venv/bin/python bench/bench_fanout.py [--messages 20] [--sizes 2,5,50,500] [--before REV]

Every phone is a real WebSocket client on one asyncio loop in this process; the gateway runs
on its own loop thread, the function in worker processes. On a small machine the receivers
share the CPU with everything else, so the figures include their own queueing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from common import ROOT, checkout, machine, percentile, start_stack, write_section
from websockets.asyncio.client import ClientConnection, connect

from mayachat_local.devauth import mint
from mayachat_local.gateway.server import LocalWebSocketGateway
from mayachat_local.rooms import create_room
from mayachat_local.stack import function_environment
from mayachat_local.threaded import run_in_thread

REFERENCE_SIZE = 5


@dataclass
class Room:
    """One sender and size-1 listening phones in one room, all connected."""

    size: int
    room_id: str
    sender: ClientConnection
    listeners: list[ClientConnection]
    arrivals: dict[str, list[float]] = field(default_factory=dict)  # clientMsgId -> times
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def listen(self) -> None:
        self._tasks = [asyncio.create_task(self._listen(ws)) for ws in self.listeners]

    async def _listen(self, ws: ClientConnection) -> None:
        with contextlib.suppress(Exception):
            async for raw in ws:
                now = time.perf_counter()
                frame = json.loads(raw)
                if frame.get("type") == "message":
                    self.arrivals.setdefault(frame["message"]["clientMsgId"], []).append(now)

    async def send_one(self) -> tuple[float, list[float]]:
        """(send -> last member received, send -> each member received) in seconds."""
        cmid = uuid.uuid4().hex
        started = time.perf_counter()
        await self.sender.send(
            json.dumps(
                {
                    "action": "sendMessage",
                    "roomId": self.room_id,
                    "clientMsgId": cmid,
                    "content": {"type": "text", "text": "fan-out"},
                }
            )
        )
        deadline = started + 60
        while len(self.arrivals.get(cmid, ())) < len(self.listeners):
            if time.perf_counter() > deadline:
                got = len(self.arrivals.get(cmid, ()))
                raise RuntimeError(f"room of {self.size}: {got}/{len(self.listeners)} delivered")
            await asyncio.sleep(0.0005)
        # The sender's ack is read too, so its socket buffer never fills.
        while json.loads(await self.sender.recv()).get("clientMsgId") != cmid:
            pass
        each = [t - started for t in self.arrivals.pop(cmid)]
        return max(each), each

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(
            *(ws.close() for ws in [self.sender, *self.listeners]), return_exceptions=True
        )


async def open_room(gateway: LocalWebSocketGateway, size: int) -> Room:
    tag = uuid.uuid4().hex[:6]
    users = [f"fan{size}-{i}-{tag}" for i in range(size)]
    room_id = await asyncio.to_thread(create_room, users)
    sockets: list[ClientConnection] = []
    # In batches: $connect runs the authorizer and the connect function for each phone.
    for start in range(0, size, 25):
        batch = users[start : start + 25]
        sockets += await asyncio.gather(
            *(
                connect(f"{gateway.url}?token={mint(u)}", open_timeout=60, max_queue=None)
                for u in batch
            )
        )
    room = Room(size, room_id, sockets[0], sockets[1:])
    room.listen()
    return room


@dataclass
class Result:
    last: list[float] = field(default_factory=list)
    each: list[float] = field(default_factory=list)


async def measure(
    gateways: dict[str, LocalWebSocketGateway], sizes: list[int], messages: int
) -> dict[tuple[str, int], Result]:
    results: dict[tuple[str, int], Result] = {}
    for size in sizes:
        rooms = {label: await open_room(gw, size) for label, gw in gateways.items()}
        try:
            for room in rooms.values():
                for _ in range(3):  # warm: workers started, membership cached
                    await room.send_one()
            for _ in range(messages):
                for label, room in rooms.items():  # interleaved: noise hits both alike
                    last, each = await room.send_one()
                    result = results.setdefault((label, size), Result())
                    result.last.append(last)
                    result.each.extend(each)
        finally:
            for room in rooms.values():
                await room.close()
        for label in rooms:
            r = results[(label, size)]
            print(
                f"{label:>6} room of {size:>3}: last member p50 {ms(statistics.median(r.last))}"
                f" p99 {ms(percentile(r.last, 0.99))}"
            )
    return results


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def report(
    results: dict[tuple[str, int], Result], sizes: list[int], args: argparse.Namespace
) -> None:
    labels = sorted({label for label, _ in results}, key=lambda x: x != "now")
    ref = {label: statistics.median(results[(label, REFERENCE_SIZE)].last) for label in labels}
    header = "| online members | send -> last member p50 | p99 | each member p50 | p99 |"
    header += f" vs {REFERENCE_SIZE} members |"
    rule = "|---:|---:|---:|---:|---:|---:|"
    if "before" in labels:
        header += f" before ({args.before}) p50 | now / before |"
        rule += "---:|---:|"
    lines = []
    for size in sizes:
        r = results[("now", size)]
        p50 = statistics.median(r.last)
        row = (
            f"| {size} | {ms(p50)} | {ms(percentile(r.last, 0.99))} "
            f"| {ms(statistics.median(r.each))} | {ms(percentile(r.each, 0.99))} "
            f"| {p50 / ref['now']:.1f}x |"
        )
        if "before" in labels:
            before = statistics.median(results[("before", size)].last)
            row += f" {ms(before)} | {p50 / before:.2f}x |"
        lines.append(row)
    biggest = max(sizes)
    ratio = statistics.median(results[("now", biggest)].last) / ref["now"]
    before_ratio = ""
    if "before" in labels:
        b = statistics.median(results[("before", biggest)].last) / ref["before"]
        before_ratio = f" (before: {b:.1f}x)"
    verdict = "met" if ratio < 10 else "not met"
    command = " ".join(
        ["bench/bench_fanout.py", f"--messages {args.messages}"]
        + ([f"--before {args.before}"] if args.before else [])
    )
    write_section(
        "fanout",
        f"""## Delivery fan-out (issue 8)

`.venv/bin/python {command}` on {machine()}.
One sender and N-1 listening phones in a room, all online (real WebSocket clients on one
asyncio loop of the benchmark process), through the local API Gateway and the real
sendMessage function: the message frame is posted to every member's connection through
@connections, concurrently. Measured from the sender's frame to the last member's copy (and
to each member's copy), {args.messages} messages per room after 3 warm-up sends. The
benchmark's own 500 clients share the 2 cores with the gateway and the function, so the
large rooms include the receivers' queueing.

{header}
{rule}
{chr(10).join(lines)}

Target: a {biggest}-member fan-out under 10x the {REFERENCE_SIZE}-member one: **{ratio:.1f}x,
{verdict}**{before_ratio}.
""",
    )


async def run(args: argparse.Namespace) -> None:
    endpoints = start_stack("kafka", "mongodb", "redis", "aws")
    env = {
        **function_environment(endpoints),
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "RATE_LIMIT_BURST": "100000",
        "RATE_LIMIT_PER_SECOND": "100000",
    }
    sizes = sorted({*(int(s) for s in args.sizes.split(",")), REFERENCE_SIZE})
    with contextlib.ExitStack() as stack:
        trees = {"now": ROOT}
        if args.before:
            trees["before"] = stack.enter_context(checkout(args.before))
        gateways = {
            label: stack.enter_context(
                run_in_thread(
                    LocalWebSocketGateway(
                        Path(tree / "template.yaml"),
                        port=0,
                        env_overrides={**env, "PYTHONPATH": str(tree / "layers" / "core")},
                    )
                )
            )
            for label, tree in trees.items()
        }
        results = await measure(gateways, sizes, args.messages)
    report(results, sizes, args)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20, help="per room size")
    parser.add_argument("--sizes", default="2,5,50,500", help="online members per room")
    parser.add_argument("--before", help="an earlier commit to compare with")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
