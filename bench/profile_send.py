"""Where a sendMessage spends its time: py-spy samples the sendMessage workers (wall clock,
waiting included) while one phone sends through the local gateway, and the samples inside
the handler are split by step. This is the profile that chose what to make faster.

    .venv/bin/python bench/profile_send.py [--messages 400]

py-spy attaches to running processes (ptrace): run as root or with
kernel.yama.ptrace_scope=0.
"""

from __future__ import annotations

import argparse
import contextlib
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
    GatewayProcess,
    function_env,
    machine,
    send_message_frame,
    start_gateways,
    start_stack,
    write_section,
)
from websockets.sync.client import connect

from mayachat_local.devtools.devauth import mint
from mayachat_local.devtools.rooms import create_room

RATE_HZ = 1000
HANDLER = "Logger.inject_lambda_context.<locals>.decorate"
# The steps of a send, by the function that does them (the first one found in a stack wins).
STEPS = {
    "RedisRateLimiter.allow": "rate limit (Redis script, at the edge)",
    "Rooms.require_member": "membership (Redis, cached)",
    # Steps of earlier commits too: --before profiles them side by side.
    "RedisSequenceAllocator.next_seq": "seq (Redis script)",
    "RedisIdempotencyStore.lookup": "idempotency lookup (Redis)",
    "RedisIdempotencyStore.claim": "idempotency claim (Redis)",
    "RedisRoomSequences.claim": "send claim + seq (one Redis script)",
    "RedisRoomSequences.claim_as_member": "send claim + seq + membership (one Redis script)",
    "KafkaEventLog.append": "Kafka produce, acks=all, until the delivery report",
    "RedisIdempotencyStore.confirm": "idempotency confirm (Redis)",
    "RedisRecentMessages.append": "recent window (Redis transaction)",
    "RedisAckedMessages.remember": "idempotency confirm + recent window (one Redis pipeline)",
    "RedisRoomSequences.confirm": "confirm: claim acked, seq settled (one Redis script)",
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
    parser.add_argument("--before", help="an earlier commit to profile too")
    args = parser.parse_args()
    endpoints = start_stack("kafka", "mongodb", "redis", "aws")
    env = function_env(endpoints)
    with contextlib.ExitStack() as stack:
        profiles = profile(stack, start_gateways(stack, env, args.before), args.messages)
    report(profiles, args)


def profile(
    stack: contextlib.ExitStack, gateways: dict[str, GatewayProcess], messages: int
) -> dict[str, tuple[Counter[str], list[float]]]:
    """Per gateway: samples per step while one phone sends `messages` frames, and the frame ->
    ack times. The phones take turns, one frame each, so drift hits every gateway alike."""
    out = Path(tempfile.mkdtemp(prefix="mayachat-profile-"))
    phones = {}
    for label, gateway in gateways.items():
        user = f"profiler-{uuid.uuid4().hex[:6]}"
        room = create_room([user, f"offline-{user}"])
        ws = stack.enter_context(connect(f"{gateway.url}?token={mint(user)}", open_timeout=30))
        phones[label] = (ws, room)

    def send(label: str) -> float:
        ws, room = phones[label]
        cmid = uuid.uuid4().hex
        started = time.perf_counter()
        ws.send(send_message_frame(room, cmid, "profile"))
        while json.loads(ws.recv(timeout=60)).get("clientMsgId") != cmid:
            pass
        return time.perf_counter() - started

    for _ in range(30):  # warm workers, caches and connections
        for label in gateways:
            send(label)
    # Each gateway and its workers; only samples inside the handler count.
    profilers = [spy(g.pid, out / f"{label}.txt") for label, g in gateways.items()]
    time.sleep(1)  # py-spy attached
    took: dict[str, list[float]] = {label: [] for label in gateways}
    for _ in range(messages):
        for label in gateways:
            took[label].append(send(label))
    for profiler in profilers:
        profiler.send_signal(signal.SIGINT)
    for profiler in profilers:
        profiler.wait(60)
    profiles = {}
    for label in gateways:
        samples: Counter[str] = Counter()
        for line in (out / f"{label}.txt").read_text().splitlines():
            stack_text, _, count = line.rpartition(" ")
            step = step_of(stack_text.split(";"))
            if step is not None:
                samples[step] += int(count)
        profiles[label] = (samples, sorted(took[label]))
    return profiles


def spy(pid: int, output: Path) -> subprocess.Popen[bytes]:
    py_spy = Path(sys.executable).with_name("py-spy")
    options = ["--idle", "--subprocesses", "--nonblocking", "-r", str(RATE_HZ), "-f", "raw"]
    options += ["-o", str(output)]
    return subprocess.Popen(
        [py_spy, "record", *options, "--pid", str(pid)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def report(profiles: dict[str, tuple[Counter[str], list[float]]], args: argparse.Namespace) -> None:
    per_send_ms = 1000 / RATE_HZ / args.messages
    labels = list(profiles)  # "now", then "before" when asked for
    now = profiles["now"][0]
    steps = [step for step, _ in now.most_common()]
    steps += [s for label in labels for s in profiles[label][0] if s not in steps]
    header = (
        "| step | "
        + " | ".join(
            f"{label if label == 'now' else f'before ({args.before})'} per send | share"
            for label in labels
        )
        + " |"
    )
    rule = "|---|" + "---:|---:|" * len(labels)

    def cells(step: str) -> str:
        out = []
        for label in labels:
            counts = profiles[label][0]
            total = sum(counts.values())
            n = counts.get(step, 0)
            out.append(f"{n * per_send_ms:.2f} ms | {n / total * 100:.0f}%" if n else "- | -")
        return " | ".join(out)

    rows = [f"| {step} | {cells(step)} |" for step in steps]
    totals = " | ".join(
        f"**{sum(profiles[label][0].values()) * per_send_ms:.2f} ms** | 100%" for label in labels
    )
    acks = ", ".join(
        f"{label} {took[len(took) // 2] * 1000:.1f} ms" for label, (_, took) in profiles.items()
    )
    command = "bench/profile_send.py --messages " + str(args.messages)
    command += f" --before {args.before}" if args.before else ""
    write_section(
        "profile",
        f"""## Profile of the send path (issue 8)

`.venv/bin/python {command}` on {machine()}.
py-spy ({RATE_HZ} Hz, wall clock: waiting on Redis, Kafka and HTTP counts) on the sendMessage
workers while one phone sends {args.messages} messages through the local gateway, in a room
whose other member is offline (frame -> ack p50 with the profiler attached: {acks}). Time
inside the handler, by step, per send:

{header}
{rule}
{chr(10).join(rows)}
| **handler total** | {totals} |

The rest of frame -> ack is the gateway: the frame in, the event to a worker process, the
ack frame out. This profile chose the changes since {args.before or "the first one"}: the ack
as the route response (no @connections post for it), @connections posts signed with botocore's
signer over kept-alive http.client instead of the boto3 client, the idempotency claim in one
SET NX GET, and the confirmation + recent window in one pipeline.
""",
    )


if __name__ == "__main__":
    main()
