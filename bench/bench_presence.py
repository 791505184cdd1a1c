"""What presence costs (issue 20): on $connect / $disconnect, and on the push side, for a
user in 1, 10 and 100 rooms, through the real services and adapters (mayachat.bootstrap)
against the local stack, counted (Redis round trips and commands, Kafka produce calls,
MongoDB commands, @connections posts) and timed.

1. connect + disconnect: bootstrap.connections() with PRESENCE_ENABLED=true against the same
   with PRESENCE_ENABLED=false (the baseline), in alternating rounds (bootstrap reset between
   them). The room work is the presence consumer's, so the target is a cost that does not
   depend on how many rooms the user is in.
2. The push of one change: bootstrap.presence_pushes().push() of the user's presence record
   (PRESENCE_DEBOUNCE_SECONDS=0), going online and offline in turn, against the same posts
   made straight through the same @connections adapter (the floor), interleaved.

Every room has its own 5 other members, 2 of them online (a connection each in the registry):
a change is pushed to 2 connections per room. @connections is a counting HTTP server in a
process of its own that answers 200 to every post.

    .venv/bin/python bench/bench_presence.py [--cycles 200] [--rounds 3] [--pushes 30]
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from common import machine, start_stack, write_samples, write_section

DATABASE = "bench_presence"
SIZES = (1, 10, 100)  # rooms the user is in
OTHERS = 5  # other members per room (each room its own)
ONLINE = 2  # of them online, one connection each
COUNTED = ("redis round trips", "redis commands", "kafka produce", "mongodb commands", "posts")
MONGODB_MICROS = "mongodb micros"  # the commands' time as pymongo measures it (not counted)
ROOMS_QUERY_MICROS = "rooms query micros"  # of which the rooms a user is in (rooms_with)


# -- @connections: a counting server in a process of its own ----------------------------------
def serve_posts(port: Any, posts: Any) -> None:
    """Answers 200 to every request, counting the POSTs (keep-alive, as the adapter expects)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with posts.get_lock():
                posts.value += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port.value = server.server_address[1]
    server.serve_forever()


# -- counting ------------------------------------------------------------------------------
class Counts:
    """Every counted call of this process, cumulative; `since` gives one step's share."""

    def __init__(self, posts: Any) -> None:
        self.calls: Counter[str] = Counter()
        self._posts = posts

    def snapshot(self) -> dict[str, int]:
        return {**{k: self.calls[k] for k in COUNTED if k != "posts"}, "posts": self._posts.value}

    def since(self, before: dict[str, int]) -> dict[str, int]:
        now = self.snapshot()
        return {k: now[k] - before[k] for k in COUNTED}


def install_counters(counts: Counts) -> None:
    """Redis (commands, pipelines, scripts), Kafka produce, MongoDB commands, counted where
    every adapter's calls pass (before bootstrap builds any client)."""
    from pymongo import monitoring
    from redis.client import Pipeline, Redis

    from mayachat.adapters.kafka_log import KafkaEventLog
    from mayachat.adapters.mongo_presence import MongoPresenceStore

    class MongoCounter(monitoring.CommandListener):
        def started(self, event: monitoring.CommandStartedEvent) -> None:
            counts.calls["mongodb commands"] += 1

        def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
            counts.calls[MONGODB_MICROS] += event.duration_micros

        def failed(self, event: monitoring.CommandFailedEvent) -> None:
            counts.calls[MONGODB_MICROS] += event.duration_micros

    monitoring.register(MongoCounter())
    execute, pipeline, append = Redis.execute_command, Pipeline.execute, KafkaEventLog.append

    def count_command(self: Redis, *args: Any, **kwargs: Any) -> Any:
        counts.calls["redis round trips"] += 1
        counts.calls["redis commands"] += 1
        return execute(self, *args, **kwargs)

    def count_pipeline(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
        counts.calls["redis round trips"] += 1
        counts.calls["redis commands"] += len(self.command_stack)
        return pipeline(self, *args, **kwargs)

    def count_append(self: KafkaEventLog, record: Any) -> Any:
        counts.calls["kafka produce"] += 1
        return append(self, record)

    Redis.execute_command = count_command  # type: ignore[method-assign]
    Pipeline.execute = count_pipeline  # type: ignore[method-assign]
    KafkaEventLog.append = count_append  # type: ignore[method-assign]
    rooms_with = MongoPresenceStore.rooms_with

    def time_rooms_with(self: MongoPresenceStore, user_ids: Any) -> Any:
        started = time.perf_counter()
        try:
            return rooms_with(self, user_ids)
        finally:
            counts.calls[ROOMS_QUERY_MICROS] += int((time.perf_counter() - started) * 1e6)

    MongoPresenceStore.rooms_with = time_rooms_with  # type: ignore[method-assign]


def configure(presence_enabled: bool) -> None:
    from mayachat import bootstrap

    os.environ["PRESENCE_ENABLED"] = str(presence_enabled).lower()
    bootstrap.reset()
    gc.collect()  # the last configuration's clients (a Kafka producer's threads) go now


# -- the users -------------------------------------------------------------------------------
@dataclass
class User:
    """A user in `rooms` rooms, each with OTHERS other members, ONLINE of them connected."""

    rooms: int
    user_id: str
    connection_id: str
    online_connections: list[str]  # the other members' (a change is posted to each)


def make_users(tag: str) -> dict[int, User]:
    from mayachat import bootstrap
    from mayachat.adapters.redis_connections import RedisConnectionRegistry
    from mayachat.model import RoomType

    admin = bootstrap.room_admin()
    registry = RedisConnectionRegistry(bootstrap.redis_client())
    users = {}
    for n in SIZES:
        user_id = f"p{tag}-{n}"
        online: list[str] = []
        for r in range(n):
            others = [f"p{tag}-{n}-r{r}-m{i}" for i in range(OTHERS)]
            admin.create(user_id, RoomType.GROUP, others)
            for member in others[:ONLINE]:
                connection_id = f"conn-{member}"
                registry.register(connection_id, member)
                online.append(connection_id)
        users[n] = User(n, user_id, f"conn-{user_id}", online)
    return users


def rooms_query_plan(user_id: str) -> str:
    """How the MongoDB server answers the rooms a user is in (MongoPresenceStore.rooms_with)."""
    from mayachat import bootstrap
    from mayachat.adapters.mongo_schema import ROOMS

    query = {"find": ROOMS, "filter": {"members": {"$in": [user_id]}}, "projection": {"members": 1}}
    plan = bootstrap.mongo_database().command("explain", query)
    plan.pop("command", None)
    plan.pop("serverInfo", None)
    plan.pop("ok", None)
    return json.dumps(plan, sort_keys=True)[:300]


# -- 1. connect + disconnect -----------------------------------------------------------------
@dataclass
class Cycles:
    connect: list[float] = field(default_factory=list)  # seconds
    disconnect: list[float] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)  # summed over the cycles

    @property
    def cycle(self) -> list[float]:
        return [c + d for c, d in zip(self.connect, self.disconnect, strict=True)]


def measure_cycles(
    counts: Counts, users: dict[int, User], into: dict[int, Cycles], cycles: int, warmup: int
) -> None:
    """$connect then $disconnect of one connection, the users of every room count in turn
    (noise hits them alike). Its id is reused, so the user's set does not gather this run's
    tombstones (a real phone's holds only the last 11 minutes')."""
    from mayachat import bootstrap
    from mayachat.model import Caller

    service = bootstrap.connections()
    callers = {n: Caller(user.user_id, user.connection_id) for n, user in users.items()}
    for i in range(warmup + cycles):
        for n, caller in callers.items():
            before = counts.snapshot()
            started = time.perf_counter()
            service.connect(caller)
            connected = time.perf_counter()
            service.disconnect(caller.connection_id)
            done = time.perf_counter()
            if i >= warmup:
                into[n].counts.update(counts.since(before))
                into[n].connect.append(connected - started)
                into[n].disconnect.append(done - connected)


# -- 2. the push of one change ---------------------------------------------------------------
@dataclass
class Pushes:
    push: list[float] = field(default_factory=list)  # seconds
    posts_alone: list[float] = field(default_factory=list)
    mongodb: list[float] = field(default_factory=list)  # seconds of MongoDB commands in a push
    rooms_query: list[float] = field(default_factory=list)  # of which the rooms query's
    counts: Counter[str] = field(default_factory=Counter)
    changes: int = 0
    # "connected" / "disconnected" -> the counts of those changes, and how many there were
    by_cause: dict[str, Counter[str]] = field(default_factory=dict)
    changes_by_cause: Counter[str] = field(default_factory=Counter)


def measure_pushes(counts: Counts, user: User, into: Pushes, pushes: int, warmup: int) -> None:
    """The user goes online, then offline, in turn (untimed, through the registry: no record
    on Kafka); each change's record is pushed (timed, counted), then the same posts are made
    straight through the same adapter (the floor)."""
    from mayachat import bootstrap
    from mayachat.adapters.redis_connections import RedisConnectionRegistry
    from mayachat.persistence import IncomingRecord
    from mayachat.presence import UserPresence, presence_frame, presence_record
    from mayachat.protocol import encode

    service = bootstrap.presence_pushes()
    gateway = bootstrap.delivery().gateway
    registry = RedisConnectionRegistry(bootstrap.redis_client())
    topic = bootstrap.settings().kafka_topic_presence
    frame = encode(presence_frame([UserPresence(user.user_id, online=True)]))
    floor = [(c, frame) for c in user.online_connections]
    for i in range(2 * (warmup + pushes)):
        if i % 2 == 0:
            at_ms = registry.register(user.connection_id, user.user_id).at_ms
            cause = "connected"
        else:
            departure = registry.unregister(user.connection_id)
            assert departure is not None
            assert departure.went_offline
            at_ms, cause = departure.at_ms, "disconnected"
        log = presence_record(topic, user.user_id, at_ms, cause)
        headers = {k: v.encode() for k, v in log.headers.items()}
        record = IncomingRecord(topic, 0, i, user.user_id.encode(), log.value, headers)
        before = counts.snapshot()
        mongodb_before, rooms_before = (
            counts.calls[MONGODB_MICROS],
            counts.calls[ROOMS_QUERY_MICROS],
        )
        started = time.perf_counter()
        service.push([record])
        took = time.perf_counter() - started
        step = counts.since(before)
        mongodb = (counts.calls[MONGODB_MICROS] - mongodb_before) / 1e6
        rooms_query = (counts.calls[ROOMS_QUERY_MICROS] - rooms_before) / 1e6
        if step["posts"] != len(floor):
            raise RuntimeError(f"{user.rooms} rooms: {step['posts']} posts, not {len(floor)}")
        started = time.perf_counter()
        gateway.post_many(floor)
        alone = time.perf_counter() - started
        if i >= 2 * warmup:
            into.counts.update(step)
            into.push.append(took)
            into.mongodb.append(mongodb)
            into.rooms_query.append(rooms_query)
            into.posts_alone.append(alone)
            into.changes += 1
            into.by_cause.setdefault(cause, Counter()).update(step)
            into.changes_by_cause[cause] += 1


# -- report ----------------------------------------------------------------------------------
def ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def per(counts: Counter[str], calls: int, key: str) -> str:
    value = counts[key] / calls
    return f"{value:.0f}" if value == int(value) else f"{value:.2f}"


def row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


COUNT_HEADER = [
    "rooms",
    "Redis round trips",
    "Redis commands",
    "Kafka produce calls",
    "MongoDB commands",
    "@connections posts",
]


def table(header: list[str], rows: list[str]) -> str:
    rule = "|" + "---:|" * len(header)
    return "\n".join([row(*header), rule, *rows])


def report(
    args: argparse.Namespace,
    cycles: dict[tuple[bool, int], Cycles],
    pushes: dict[int, Pushes],
    plan: str,
) -> str:
    counted, timed, pushed = [], [], []
    first, biggest = SIZES[0], SIZES[-1]
    for n in SIZES:
        off, on = cycles[(False, n)], cycles[(True, n)]
        counted.append(
            row(
                n,
                *(
                    f"{per(off.counts, len(off.connect), k)} / {per(on.counts, len(on.connect), k)}"
                    for k in COUNTED
                ),
            )
        )
        timed.append(
            row(
                n,
                f"{ms(off.connect):.2f} / {ms(on.connect):.2f}",
                f"{ms(off.disconnect):.2f} / {ms(on.disconnect):.2f}",
                f"{ms(off.cycle):.2f}",
                f"{ms(on.cycle):.2f}",
                f"**{ms(on.cycle) / ms(off.cycle):.2f}x**",
            )
        )
        p = pushes[n]
        mongodb = " / ".join(
            per(p.by_cause[cause], p.changes_by_cause[cause], "mongodb commands")
            for cause in ("connected", "disconnected")
        )
        pushed.append(
            row(
                n,
                *(per(p.counts, p.changes, k) for k in COUNTED[:3]),
                mongodb,
                per(p.counts, p.changes, "posts"),
                f"{ms(p.push):.2f}",
                f"{ms(p.mongodb):.2f}",
                f"{ms(p.rooms_query):.2f}",
                f"{ms(p.push) / ms(pushes[first].push):.1f}x",
                f"{ms(p.posts_alone):.2f}",
                f"{ms(p.push) / ms(p.posts_alone):.2f}x",
            )
        )

    def per_cycle(enabled: bool, n: int) -> dict[str, float]:
        c = cycles[(enabled, n)]
        return {k: c.counts[k] / len(c.connect) for k in COUNTED}

    flat = all(per_cycle(e, n) == per_cycle(e, first) for e in (False, True) for n in SIZES)
    base, added = (
        per_cycle(False, first),
        {k: per_cycle(True, first)[k] - per_cycle(False, first)[k] for k in COUNTED},
    )
    ratios = [ms(cycles[(True, n)].cycle) / ms(cycles[(False, n)].cycle) for n in SIZES]
    extra_ms = [ms(cycles[(True, n)].cycle) - ms(cycles[(False, n)].cycle) for n in SIZES]
    growth = ms(cycles[(True, biggest)].cycle) / ms(cycles[(True, first)].cycle)
    met = flat and growth <= 1.15
    push_rts = " / ".join(
        sorted({per(pushes[n].counts, pushes[n].changes, "redis round trips") for n in SIZES})
    )
    names = {
        "redis round trips": "Redis round trips",
        "redis commands": "Redis commands",
        "kafka produce": "Kafka produce calls",
        "mongodb commands": "MongoDB commands",
        "posts": "posts",
    }
    adds = ", ".join(f"{v:g} {names[k]}" for k, v in added.items() if v) or "nothing"
    unchanged = [names[k] for k, v in added.items() if not v] or ["more"]
    adds_not = " or ".join(filter(None, [", ".join(unchanged[:-1]), unchanged[-1]]))
    command = (
        f"bench/bench_presence.py --cycles {args.cycles} --rounds {args.rounds} "
        f"--pushes {args.pushes}"
    )
    timed_header = [
        "rooms",
        "connect p50 ms off / on",
        "disconnect p50 ms off / on",
        "connect + disconnect p50 ms off",
        "on",
        "on / off",
    ]
    push_header = [
        *COUNT_HEADER[:4],
        "MongoDB commands (online / offline)",
        COUNT_HEADER[5],
        "push p50 ms",
        "of which MongoDB",
        "of which the rooms query",
        f"vs {first} room",
        "the posts alone p50 ms",
        "push / posts alone",
    ]
    sizes = " / ".join(map(str, SIZES))
    return f"""## Presence (issue 20)

`.venv/bin/python {command}` on {machine()}.
The real services and adapters (`mayachat.bootstrap`) against the local stack (Kafka,
FerretDB on PostgreSQL, the Redis node), for a user in {sizes} rooms, each room with its own
{OTHERS} other members, {ONLINE} of them online (a connection each in the registry).
@connections is a counting HTTP server in a process of its own that answers 200. Counted
per call (Redis round trips and commands, Kafka produce calls, MongoDB commands, posts the
server received) and timed (p50).

**`$connect` + `$disconnect`**: `Connections.connect`, then `.disconnect`, of one connection (the
user offline before: each is a transition, which announces), {args.cycles} cycles per round
for each room count (in turn), {args.rounds} alternating rounds per configuration (bootstrap
reset between them), per cycle, **presence off (PRESENCE_ENABLED=false) / on**:

{table(COUNT_HEADER, counted)}

{table(timed_header, timed)}

Presence adds {adds} per connect + disconnect (a presence record each way, acks=all, waited
for within 1.5 s: {" / ".join(f"{x:.2f}" for x in extra_ms)} ms at {sizes} rooms) and no
{adds_not}: the {base["redis round trips"]:g} Redis round trips (connect: its rate limit,
the connection's hash, the register script; disconnect: the hash, the goodbye script) are
the same either way, and the same at every room count -- the rooms are the presence
consumer's work, not the connect's.

**The push of one change**: `PresencePushes.push` of that user's presence record
(PRESENCE_DEBOUNCE_SECONDS=0), {args.pushes} times going online and {args.pushes} times
offline in turn, per change; beside it, interleaved, the same posts made straight through
the same @connections adapter (32 threads; no Redis, no MongoDB), the floor:

{table(push_header, pushed)}

The rooms query's plan here: `{plan}`.

A change costs {push_rts} Redis round trips whatever the rooms (the user's state; the
members' connections; what was pushed, each one pipeline), their commands growing with the
members ({OTHERS} a room here); MongoDB: the user's profile, the rooms they are in, the
members' profiles (one query each), and going offline its lastSeen (one bulk write); one
post per online member's connection. With few rooms the push is its MongoDB queries, most
of it the rooms query: FerretDB on PostgreSQL does not push its filter down (`members`
holding the user) and scans the rooms collection ({sum(SIZES)} rooms here, this run's), so
there its time grows with all the rooms stored, not the user's; MongoDB itself (Atlas in
AWS) would answer it from the multikey `members` index (not measured here). With many rooms
the push is its posts. Rooms that share members cost fewer posts than these (one frame per
recipient, whatever the rooms they share); the floor itself grows with the posts on this
machine (the counting server is one Python process on 2 cores).

Verdict: `$connect` / `$disconnect` cost the same whatever the rooms a user is in:
**{"met" if met else "not met"}** (counted per cycle: {"identical" if flat else "not identical"}
at {sizes} rooms; timed with presence {growth:.2f}x from {first} to {biggest} rooms, within
this VM's 15% spread); presence makes the cycle {" / ".join(f"{r:.2f}x" for r in ratios)}
the one without (its {added["kafka produce"]:g} produce calls).
"""


# -- main ------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=200, help="connect+disconnect per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per config")
    parser.add_argument("--pushes", type=int, default=30, help="online and offline changes")
    args = parser.parse_args()

    # The posts server first: spawned, so it shares nothing with this process's threads.
    spawn = multiprocessing.get_context("spawn")
    port, posts = spawn.Value("i", 0), spawn.Value("q", 0)
    server = spawn.Process(target=serve_posts, args=(port, posts), daemon=True)
    server.start()
    try:
        deadline = time.monotonic() + 30
        while not port.value:
            if time.monotonic() > deadline or not server.is_alive():
                raise RuntimeError("the @connections server did not start")
            time.sleep(0.05)
        run(args, port.value, posts)
    finally:
        server.terminate()
        server.join(10)


def run(args: argparse.Namespace, port: int, posts: Any) -> None:
    endpoints = start_stack("kafka", "mongodb", "redis")
    os.environ.update(
        {
            "MONGODB_URI": endpoints["mongodb"].rsplit("/", 1)[0] + f"/{DATABASE}",
            "WEBSOCKET_MANAGEMENT_ENDPOINT": f"http://127.0.0.1:{port}/local",
            "PRESENCE_DEBOUNCE_SECONDS": "0",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            # One user connects as fast as it can: past its share, which is not measured here.
            "CONNECT_RATE_LIMIT_BURST": "1000000",
            "CONNECT_RATE_LIMIT_PER_SECOND": "1000000",
        }
    )
    for key, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local")):
        os.environ.setdefault(key, value)  # the posts are signed; this server takes any
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from pymongo import MongoClient

    # This benchmark's own database, empty: the rooms collection holds this run's rooms only
    # (FerretDB scans it for the rooms a user is in: see the plan in the section).
    client: MongoClient[dict[str, Any]] = MongoClient(os.environ["MONGODB_URI"])
    with client:
        client.drop_database(DATABASE)
    counts = Counts(posts)
    install_counters(counts)

    configure(presence_enabled=True)
    tag = uuid.uuid4().hex[:6]
    started = time.perf_counter()
    users = make_users(tag)
    print(f"{sum(SIZES)} rooms made in {time.perf_counter() - started:.1f} s")
    plan = rooms_query_plan(users[SIZES[-1]].user_id)

    cycles = {(e, n): Cycles() for e in (False, True) for n in SIZES}
    for r in range(args.rounds):
        for enabled in (False, True) if r % 2 == 0 else (True, False):
            configure(enabled)
            into = {n: cycles[(enabled, n)] for n in SIZES}
            measure_cycles(counts, users, into, args.cycles, warmup=5)
    for (enabled, n), c in sorted(cycles.items()):
        print(
            f"presence {'on ' if enabled else 'off'} {n:>3} rooms: connect+disconnect "
            f"{ms(c.cycle):.2f} ms {dict(c.counts)}"
        )

    configure(presence_enabled=True)
    pushes = {n: Pushes() for n in SIZES}
    for n in SIZES:
        measure_pushes(counts, users[n], pushes[n], args.pushes, warmup=2)
        p = pushes[n]
        print(f"push {n:>3} rooms: {ms(p.push):.2f} ms, posts alone {ms(p.posts_alone):.2f} ms")

    samples: dict[str, list[float]] = {}
    for (enabled, n), c in cycles.items():
        label = "on" if enabled else "off"
        samples[f"connect:{label}:{n}"] = c.connect
        samples[f"disconnect:{label}:{n}"] = c.disconnect
    for n, p in pushes.items():
        samples[f"push:{n}"] = p.push
        samples[f"posts_alone:{n}"] = p.posts_alone
        samples[f"push_mongodb:{n}"] = p.mongodb
        samples[f"push_rooms_query:{n}"] = p.rooms_query
    # Per call (a connect + disconnect cycle, a change's push): [count] for each counter.
    for (enabled, n), c in cycles.items():
        for key in COUNTED:
            label = "on" if enabled else "off"
            samples[f"count:cycle:{label}:{n}:{key}"] = [c.counts[key] / len(c.connect)]
    for n, p in pushes.items():
        for key in COUNTED:
            samples[f"count:push:{n}:{key}"] = [p.counts[key] / p.changes]
    write_samples("presence", samples)
    write_section("presence", report(args, cycles, pushes, plan))


if __name__ == "__main__":
    main()
