"""Send path: frame in -> ack out through the local API Gateway and the real sendMessage
function (Kafka acks=all before the ack), p50/p99 at 1, 10 and 50 concurrent senders,
against a raw confluent-kafka produce + delivery report (acks=all, idempotent) to the same
broker in the same run. Target: send p50 within 1.5x of the raw produce.

    .venv/bin/python bench/bench_send.py [--messages 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import ROOT, machine, percentile, start_stack, write_section

from mayachat_local.devauth import mint


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200, help="per concurrency level")
    args = parser.parse_args()
    endpoints = start_stack("kafka", "mongodb", "redis", "aws")

    from confluent_kafka import Producer
    from websockets.sync.client import connect

    from mayachat.kafka_config import producer_config
    from mayachat.settings import load_settings
    from mayachat_local.gateway.server import LocalWebSocketGateway
    from mayachat_local.rooms import create_room
    from mayachat_local.stack import function_environment
    from mayachat_local.threaded import run_in_thread

    producer = Producer(producer_config(load_settings()))

    def raw_produce() -> float:
        done = threading.Event()
        started = time.perf_counter()
        producer.produce(
            "chat-messages",
            key=b"bench-raw",
            value=b'{"n":1}',
            on_delivery=lambda err, msg: done.set(),
        )
        while not done.is_set():
            producer.poll(0.001)
        return time.perf_counter() - started

    for _ in range(20):
        raw_produce()
    raw = [raw_produce() for _ in range(args.messages)]

    env = {
        **function_environment(endpoints),
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "RATE_LIMIT_BURST": "100000",
        "RATE_LIMIT_PER_SECOND": "100000",
    }
    gateway = LocalWebSocketGateway(Path(ROOT / "template.yaml"), port=0, env_overrides=env)
    rows = []
    with run_in_thread(gateway):
        for senders in (1, 10, 50):
            users = [f"sender{i}-{uuid.uuid4().hex[:6]}" for i in range(senders)]
            room = (
                create_room([*users, "listener"])
                if senders > 1
                else create_room([users[0], "listener"])
            )
            per_sender = max(5, args.messages // senders)

            def run_sender(
                user: str, room: str = room, per_sender: int = per_sender
            ) -> list[float]:
                times = []
                with connect(f"{gateway.url}?token={mint(user)}", open_timeout=30) as ws:
                    for i in range(per_sender + 2):
                        cmid = f"b{i}-{uuid.uuid4().hex[:8]}"
                        started = time.perf_counter()
                        ws.send(
                            json.dumps(
                                {
                                    "action": "sendMessage",
                                    "roomId": room,
                                    "clientMsgId": cmid,
                                    "content": {"type": "text", "text": "bench"},
                                }
                            )
                        )
                        while True:
                            frame = json.loads(ws.recv(timeout=60))
                            if frame.get("type") == "ack" and frame.get("clientMsgId") == cmid:
                                break
                        if i >= 2:  # the first two include the workers' cold starts
                            times.append(time.perf_counter() - started)
                return times

            with ThreadPoolExecutor(senders) as pool:
                samples = [t for ts in pool.map(run_sender, users) for t in ts]
            rows.append((senders, samples))
            print(
                f"{senders:>2} senders: p50 {statistics.median(samples) * 1000:.1f} ms "
                f"p99 {percentile(samples, 0.99) * 1000:.1f} ms"
            )

    raw_p50 = statistics.median(raw)
    lines = [
        f"| {n} | {statistics.median(s) * 1000:.1f} ms | {percentile(s, 0.99) * 1000:.1f} ms "
        f"| {statistics.median(s) / raw_p50:.1f}x |"
        for n, s in rows
    ]
    write_section(
        "send",
        f"""## Send path (issue 8)

`.venv/bin/python bench/bench_send.py --messages {args.messages}` on {machine()}.
Frame in -> ack out through the local API Gateway (worker processes, at most 10 per
function, like a reserved concurrency of 10) and the real sendMessage function: rate limit,
membership (cached), seq, idempotency, Kafka produce with acks=all and its delivery report,
recent window, ack post. Baseline in the same run: a raw confluent-kafka produce + delivery
report (acks=all, idempotent) to the same broker: p50 **{raw_p50 * 1000:.2f} ms**, p99
{percentile(raw, 0.99) * 1000:.2f} ms.

| concurrent senders | send p50 | send p99 | p50 / raw produce p50 |
|---:|---:|---:|---:|
{chr(10).join(lines)}

Target: p50 within 1.5x of the raw produce.
""",
    )


if __name__ == "__main__":
    main()
