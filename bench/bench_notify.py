"""Push notifications: what notify costs and what it does not.

1. Throughput: chat-messages records through the notify service (room, who is online, the
   delivered cursors, preferences, devices, the badge, the pushes-sent ledger, one SNS
   publish per device), at the mapping's batch size, against a raw SNS publish loop of the
   same pushes to the same endpoints on the same local SNS (moto), in the same run.
2. Its share of a send: sendMessage frame -> ack through the local gateway with the notify
   mapping running and pushing (every room has an offline member with a device) and without
   it, in alternating turns. Notify reads the log on its own consumer group, so the target is
   nothing: the same ack latency, within this VM's run-to-run spread (10-20%: at most 1.15x).

    .venv/bin/python bench/bench_notify.py [--messages 300] [--sends 100]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import time
import uuid
from typing import Any

from common import (
    ROOT,
    function_env,
    gateway_process,
    machine,
    send_message_frame,
    start_stack,
    write_section,
)

from mayachat_local.config import StackConfig

BATCH = 100  # NotifyFunction's BatchSize in template.yaml
MEMBERS = 5  # a sender and four offline members with a phone each


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--sends", type=int, default=100)
    parser.add_argument("--turns", type=int, default=2)
    args = parser.parse_args()
    config = StackConfig.from_env()
    endpoints = start_stack("mongodb", config.app_redis, "aws", "kafka")
    from mayachat_local.services.moto import push_environment
    from mayachat_local.stack import app_environment

    os.environ.update({**app_environment(endpoints), **push_environment()})
    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        os.environ.setdefault(key, value)  # moto takes any; never a real account's
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ["MONGODB_URI"] = endpoints["mongodb"].rsplit("/", 1)[0] + "/bench_notify"

    throughput = measure_throughput(args.messages, args.rooms)
    ack = measure_ack_share(endpoints, args.sends, args.turns)
    write_section("notify", report(args, throughput, ack))


# -- 1. throughput -------------------------------------------------------------------------
def measure_throughput(count: int, room_count: int) -> dict[str, float]:
    import boto3

    from mayachat import bootstrap
    from mayachat.adapters.sns_push import payload
    from mayachat.ids import new_message_id
    from mayachat.persistence import IncomingRecord
    from mayachat.push import Device, Notification, Platform

    notifier = bootstrap.notifier()
    admin = bootstrap.room_admin()
    run = uuid.uuid4().hex[:6]
    rooms = []
    for r in range(room_count):
        members = [f"n{run}-r{r}-u{i}" for i in range(MEMBERS)]
        room, _ = admin.create(members[0], _group(), members[1:])
        rooms.append((room.room_id, members))
        for user in members[1:]:
            token = f"bench-{run}-{user}"
            notifier.devices.register(Device(user, "phone", Platform.FCM, token))

    def records(n: int, offset: int) -> list[Any]:
        made = []
        for i in range(n):
            room_id, members = rooms[i % room_count]
            seq = offset + i // room_count + 1
            wire = {
                "schemaVersion": 1,
                "messageId": new_message_id(),
                "roomId": room_id,
                "seq": seq,
                "senderId": members[0],
                "clientMsgId": f"c{offset + i}",
                "content": {"type": "text", "text": f"message {offset + i}"},
                "createdAt": "2026-12-02T12:00:00.000Z",
            }
            made.append(
                IncomingRecord(
                    "chat-messages", 0, offset + i, room_id.encode(), json.dumps(wire).encode(), {}
                )
            )
        return made

    notifier.notify(records(room_count, 0))  # warm: endpoints made, clients connected
    batches = [records(BATCH, 1000 + k * BATCH) for k in range(count // BATCH)]
    sent_before = _sent_count()
    started = time.perf_counter()
    for batch in batches:
        notifier.notify(batch)
    notify_s = time.perf_counter() - started
    pushes = _sent_count() - sent_before
    messages = len(batches) * BATCH

    sns = boto3.client("sns")
    endpoints = [
        d.endpoint
        for devices in notifier.devices.of_users([u for _, m in rooms for u in m[1:]]).values()
        for d in devices
    ]
    note = Notification("Team", "message 1", 3, rooms[0][0], 1, new_message_id())
    body = json.dumps(payload(Platform.FCM, note))
    started = time.perf_counter()
    for i in range(pushes):
        sns.publish(TargetArn=endpoints[i % len(endpoints)], MessageStructure="json", Message=body)
    raw_s = time.perf_counter() - started
    return {
        "messages": messages,
        "pushes": pushes,
        "notify_s": notify_s,
        "raw_s": raw_s,
    }


def _sent_count() -> int:
    """Pushes the local SNS has recorded, all endpoints together."""
    from mayachat_local.devtools.pushes import pushes

    return len(pushes(_aws()))


def _aws() -> str:
    return os.environ["AWS_ENDPOINT_URL"]


def _group() -> Any:
    from mayachat.model import RoomType

    return RoomType.GROUP


# -- 2. share of a send ----------------------------------------------------------------------
def measure_ack_share(endpoints: dict[str, str], sends: int, turns: int) -> dict[str, list[float]]:
    from e2e_parts import commit_topic_end
    from websockets.sync.client import connect

    from mayachat import bootstrap
    from mayachat.push import Device, Platform
    from mayachat_local.devtools.devauth import mint
    from mayachat_local.devtools.threaded import run_in_thread
    from mayachat_local.esm import LocalEventSourceMappings

    env = function_env(endpoints) | {
        "MONGODB_URI": os.environ["MONGODB_URI"],
        # One phone sends as fast as its acks come: past a user's share, which is not measured here.
        "USER_RATE_LIMIT_BURST": "100000",
        "USER_RATE_LIMIT_PER_SECOND": "100000",
    }
    run = uuid.uuid4().hex[:6]
    sender, offline = f"s{run}", f"o{run}"
    room, _ = bootstrap.room_admin().create(sender, _group(), [offline, f"o2{run}"])
    bootstrap.notifier().devices.register(Device(offline, "phone", Platform.FCM, f"ack-{run}"))
    samples: dict[str, list[float]] = {"without notify": [], "with notify": []}
    template = ROOT / "template.yaml"
    with contextlib.ExitStack() as opened:
        gateway = opened.enter_context(gateway_process(template, env))
        ws = opened.enter_context(connect(f"{gateway.url}?token={mint(sender)}", open_timeout=30))
        _acks(ws, room.room_id, 20)  # warm the route workers
        for turn in range(turns * 2):
            label = "with notify" if turn % 2 else "without notify"
            with contextlib.ExitStack() as running:
                if label == "with notify":
                    group = f"bench-notify-{run}-{turn}"
                    commit_topic_end(group, "chat-messages")
                    mapping = "NotifyFunction.ChatMessages"
                    esm = LocalEventSourceMappings(
                        template, env, only=[mapping], group_ids={mapping: group}
                    )
                    running.enter_context(run_in_thread(esm))
                    _acks(ws, room.room_id, 10)  # its worker is warm before we measure
                    time.sleep(2)
                samples[label] += _acks(ws, room.room_id, sends)
    return samples


def _acks(ws: Any, room_id: str, count: int) -> list[float]:
    times = []
    for i in range(count):
        cmid = f"a{i}-{uuid.uuid4().hex[:8]}"
        started = time.perf_counter()
        ws.send(send_message_frame(room_id, cmid))
        while True:
            frame = json.loads(ws.recv(timeout=60))
            if frame.get("clientMsgId") != cmid:
                continue
            if frame.get("type") == "error":
                raise RuntimeError(f"send refused: {frame}")
            if frame.get("type") == "ack":
                break
        times.append(time.perf_counter() - started)
    return times


# -- report ----------------------------------------------------------------------------------
def report(args: argparse.Namespace, t: dict[str, float], ack: dict[str, list[float]]) -> str:
    notify_rate = t["pushes"] / t["notify_s"]
    raw_rate = t["pushes"] / t["raw_s"]
    without = statistics.median(ack["without notify"]) * 1000
    with_ = statistics.median(ack["with notify"]) * 1000
    p95 = {k: sorted(v)[int(len(v) * 0.95)] * 1000 for k, v in ack.items()}
    share = with_ / without
    return f"""## Push notifications (issue 16)

`.venv/bin/python bench/bench_notify.py --messages {args.messages} --rooms {args.rooms}
--sends {args.sends}` on {machine()}; local stack (FerretDB on PostgreSQL, the Redis
cluster, moto's SNS).

Throughput: {t["messages"]:,} chat-messages records in batches of {BATCH} (the mapping's)
through the notify service, rooms of {MEMBERS} with four offline members with a phone each:
**{t["messages"] / t["notify_s"]:.0f} messages/s, {notify_rate:.0f} pushes/s**; a raw
`sns.publish` loop of the same {t["pushes"]:,} pushes to the same endpoints: {raw_rate:.0f}
publishes/s. Notify = **{notify_rate / raw_rate:.2f}x** the raw loop: per message it reads
the room, the members' connections and delivered cursors (Redis), their preferences and
devices, and per recipient the badge (rooms, cursors, an unread aggregate in MongoDB) and a
ledger insert before the publish.

A send's ack (frame -> ack through the local gateway, one phone, {args.sends} sends a turn,
{args.turns} turns each, alternating) in a room with an offline member with a phone:
without the notify mapping {without:.1f} ms p50 (p95 {p95["without notify"]:.1f}), with it
running and pushing {with_:.1f} ms p50 (p95 {p95["with notify"]:.1f}): **{share:.2f}x**.
Notify reads the log on a consumer group of its own: nothing of it is on the send path; what
this machine shows is their sharing two cores.

Verdict: pushes add nothing to the ack (at most 1.15x, this VM's spread between runs):
**{"met" if share <= 1.15 else "not met"}** ({share:.2f}x).
"""


if __name__ == "__main__":
    main()
