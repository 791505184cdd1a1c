"""Round trips per send, counted (not timed): Redis commands and network round trips,
Kafka produce calls, MongoDB commands, for sendMessage through the real Messaging service
and adapters against the local stack, with the membership cache warm.
Target: no MongoDB call on the send path when the membership cache is warm (one per 1000
messages of a room claims the next seq block).

    .venv/bin/python bench/bench_round_trips.py [--messages 200]
"""

from __future__ import annotations

import argparse
import os
import uuid
from collections import Counter
from typing import Any

from common import machine, start_stack, write_section


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    start_stack("kafka", "mongodb", "redis")
    os.environ["WEBSOCKET_MANAGEMENT_ENDPOINT"] = "http://127.0.0.1:9/local"

    from pymongo import monitoring
    from redis.client import Pipeline, Redis

    mongo_commands: Counter[str] = Counter()

    class MongoCounter(monitoring.CommandListener):
        def started(self, event: monitoring.CommandStartedEvent) -> None:
            mongo_commands[event.command_name] += 1

        def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
            pass

        def failed(self, event: monitoring.CommandFailedEvent) -> None:
            pass

    monitoring.register(MongoCounter())
    redis_calls = Counter[str]()
    original_execute = Redis.execute_command
    original_pipeline = Pipeline.execute

    def count_command(self: Redis, *args: Any, **kwargs: Any) -> Any:
        redis_calls["round trips"] += 1
        redis_calls["commands"] += 1
        return original_execute(self, *args, **kwargs)

    def count_pipeline(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
        redis_calls["round trips"] += 1
        redis_calls["commands"] += len(self.command_stack)
        return original_pipeline(self, *args, **kwargs)

    Redis.execute_command = count_command  # type: ignore[method-assign]
    Pipeline.execute = count_pipeline  # type: ignore[method-assign]

    from mayachat import bootstrap
    from mayachat.model import Caller
    from mayachat.ports import LogPosition, LogRecord, Posted

    messaging = bootstrap.messaging()
    appends = Counter[str]()
    real_append = messaging.log.append

    def count_append(record: LogRecord) -> LogPosition:
        appends["produce"] += 1
        return real_append(record)

    messaging.log.append = count_append  # type: ignore[method-assign]

    class NoPosts:  # delivery cost is counted in Redis lookups; nobody listens here
        def post_many(self, posts: Any) -> Posted:
            appends["posts"] += len(posts)
            return Posted()

    messaging.delivery.gateway = NoPosts()
    alice, bob = f"alice-{uuid.uuid4().hex[:6]}", f"bob-{uuid.uuid4().hex[:6]}"
    room, _ = bootstrap.room_admin().create(alice, _group(), [bob])
    caller = Caller(alice, "conn-alice")
    messaging.send(caller, room.room_id, "warm-up", {"type": "text", "text": "warm"})

    for counter in (mongo_commands, redis_calls, appends):
        counter.clear()
    for i in range(args.messages):
        messaging.send(caller, room.room_id, f"m-{i}", {"type": "text", "text": f"#{i}"})
    n = args.messages
    mongo_total = sum(mongo_commands.values())
    mongo_verdict = "met" if mongo_total == 0 else f"not met ({mongo_total} in {n} sends)"
    write_section(
        "round_trips",
        f"""## Round trips per send (issue 8)

`.venv/bin/python bench/bench_round_trips.py --messages {n}` on {machine()}.
sendMessage through the real Messaging service and adapters, membership cache warm, {n} sends
into one room (counted, not timed):

| per send | count |
|---|---:|
| Redis round trips | {redis_calls["round trips"] / n:.2f} |
| Redis commands | {redis_calls["commands"] / n:.2f} |
| Kafka produce calls | {appends["produce"] / n:.2f} |
| MongoDB commands | {mongo_total / n:.3f} ({dict(mongo_commands) or "none"} in {n} sends) |

The Redis round trips per send: the send claim, its seq and the membership check against the
cached members (one script, in the room's slot), once Kafka has it the confirmation (one
script: the claim acked, the seq settled), and the members' connections (one pipeline).
The rate limit is one more per frame at the edge (not counted here).

Verdict: no MongoDB call on the send path with the membership cache warm: **{mongo_verdict}**
(a seq block is claimed in MongoDB once per 1000 messages of a room).
""",
    )


def _group() -> Any:
    from mayachat.model import RoomType

    return RoomType.GROUP


if __name__ == "__main__":
    main()
