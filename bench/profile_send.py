"""Where a sendMessage spends its time: py-spy samples the sendMessage workers (wall clock,
waiting included) while one phone sends through the local gateway, and the samples inside
the handler are split by step. This is the profile that chose what to make faster.

    .venv/bin/python bench/profile_send.py [--messages 400]

py-spy attaches to running processes (ptrace): run as root or with
kernel.yama.ptrace_scope=0.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from common import (
    ROOT,
    function_env,
    gateway_process,
    machine,
    send_message_frame,
    start_stack,
    write_section,
)
from websockets.sync.client import connect

from mayachat_local.devauth import mint
from mayachat_local.rooms import create_room

RATE_HZ = 1000
HANDLER = "Logger.inject_lambda_context.<locals>.decorate"
# The steps of a send, by the function that does them (the first one found in a stack wins).
STEPS = {
    "RedisRateLimiter.allow": "rate limit (Redis script, at the edge)",
    "Rooms.require_member": "membership (Redis, cached)",
    "RedisSequenceAllocator.next_seq": "seq (Redis script)",
    "RedisIdempotencyStore.claim": "idempotency claim (Redis)",
    "KafkaEventLog.append": "Kafka produce, acks=all, until the delivery report",
    "RedisIdempotencyStore.confirm": "idempotency confirm (Redis)",
    "RedisRecentMessages.append": "recent window (Redis transaction)",
    "RedisAckedMessages.remember": "idempotency confirm + recent window (one Redis pipeline)",
    "RedisConnectionRegistry.connections_of": "members' connections (Redis pipeline)",
    "ApiGatewayConnections.post_many": "posts to @connections (ack + members)",
}


def step_of(stack: list[str]) -> str | None:
    """The step a sample belongs to; None when the sample is outside the handler."""
    names = [frame.split(" (")[0] for frame in stack]
    if HANDLER not in names:
        return None
    return next((STEPS[n] for n in names if n in STEPS), "everything else in the handler")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=400)
    args = parser.parse_args()
    endpoints = start_stack("kafka", "mongodb", "redis", "aws")
    env = function_env(endpoints)
    out = Path(tempfile.mkdtemp(prefix="mayachat-profile-"))
    with gateway_process(ROOT / "template.yaml", env) as gateway:
        room = create_room(["profiler", "listener"])
        with connect(f"{gateway.url}?token={mint('profiler')}", open_timeout=30) as ws:

            def send() -> float:
                cmid = uuid.uuid4().hex
                started = time.perf_counter()
                ws.send(send_message_frame(room, cmid, "profile"))
                while json.loads(ws.recv(timeout=60)).get("clientMsgId") != cmid:
                    pass
                return time.perf_counter() - started

            for _ in range(30):  # warm workers, caches and connections
                send()
            # The gateway and its workers; only samples inside the handler count.
            profiler = spy(gateway.pid, out / "samples.txt")
            time.sleep(1)  # py-spy attached
            took = [send() for _ in range(args.messages)]
            profiler.send_signal(signal.SIGINT)
            profiler.wait(60)

    samples: Counter[str] = Counter()
    for path in out.glob("*.txt"):
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            step = step_of(stack.split(";"))
            if step is not None:
                samples[step] += int(count)
    report(samples, took, args.messages)


def spy(pid: int, output: Path) -> subprocess.Popen[bytes]:
    py_spy = Path(sys.executable).with_name("py-spy")
    options = ["--idle", "--subprocesses", "--nonblocking", "-r", str(RATE_HZ), "-f", "raw"]
    options += ["-o", str(output)]
    return subprocess.Popen(
        [py_spy, "record", *options, "--pid", str(pid)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def report(samples: Counter[str], took: list[float], messages: int) -> None:
    total = sum(samples.values())
    per_send_ms = 1000 / RATE_HZ / messages
    rows = [
        f"| {step} | {n / total * 100:.1f}% | {n * per_send_ms:.2f} ms |"
        for step, n in samples.most_common()
    ]
    took.sort()
    write_section(
        "profile",
        f"""## Profile of the send path (issue 8)

`.venv/bin/python bench/profile_send.py --messages {messages}` on {machine()}.
py-spy ({RATE_HZ} Hz, wall clock: waiting on Redis, Kafka and HTTP counts) on the sendMessage
workers while one phone sends {messages} messages through the local gateway (frame -> ack
p50 {took[len(took) // 2] * 1000:.1f} ms in this run, profiler attached). Time inside the
handler, by step, per send:

| step | share of the handler | per send |
|---|---:|---:|
{chr(10).join(rows)}
| **handler total** | 100% | {total * per_send_ms:.2f} ms |

The rest of frame -> ack is the gateway: the frame in, the event to a worker process, the
ack frame out.
""",
    )


if __name__ == "__main__":
    main()
