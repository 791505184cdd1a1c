"""End to end: N clients x M messages through the whole local system (real WebSocket
clients -> the local API Gateway -> sendMessage -> Kafka -> the local MSK event-source
mapping -> the persist function -> MongoDB): sustained messages/s, every message persisted
exactly once (counted and checked), and the lag from ack to MongoDB (p50/p99). Baselines in
the same run: a raw confluent-kafka produce + delivery report (acks=all, idempotent) of as
many messages from as many threads, one in flight each, to the same topic; and a raw pymongo
insert_many of as many similar documents (the persistence floor). Exits non-zero if a
message is lost or doubled.

    .venv/bin/python bench/bench_end_to_end.py [--clients 10] [--messages 50] [--warmup 5]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from common import (
    RESULTS,
    function_env,
    machine,
    percentile,
    produce_and_wait,
    start_stack,
    write_section,
)
from e2e_parts import (
    POLL_SECONDS,
    TEMPLATE,
    Acked,
    Phone,
    VisibilityPoller,
    delete_groups,
    fresh_groups_at_topic_end,
    open_phones,
    send_from_all,
)

TOPIC = "chat-messages"  # what sendMessage produces and PersistFunction.ChatMessages reads
WARMUP = 5  # sends per client and warm-up round: worker cold starts, first persist batch
WARMUP_ROUNDS = 6  # at most; warming up stops at the first round that starts no worker
PERSIST_TIMEOUT = 120.0  # seconds to wait for every acked message to reach MongoDB
RAW_MONGO_BATCH = 500  # PersistFunction's BatchSize in template.yaml


@dataclass(frozen=True)
class ExactlyOnce:
    acked: int
    stored: int
    missing: int  # acked, not in MongoDB
    unexpected: int  # in the room, never acked
    duplicate_seqs: int  # (roomId, seq) held by more than one document
    duplicate_client_ids: int  # (senderId, clientMsgId) held by more than one document
    mismatched: int  # stored under the acked messageId, with another seq/sender/clientMsgId

    @property
    def ok(self) -> bool:
        faults = (
            self.missing,
            self.unexpected,
            self.duplicate_seqs,
            self.duplicate_client_ids,
            self.mismatched,
        )
        return self.acked == self.stored and not any(faults)

    def summary(self) -> str:
        return (
            f"{self.acked} acked, {self.stored} stored, {self.missing} missing, "
            f"{self.unexpected} unexpected, {self.duplicate_seqs} duplicate seqs, "
            f"{self.duplicate_client_ids} duplicate clientMsgIds, {self.mismatched} mismatched"
        )


# ---------------------------------------------------------------------- the run's database
def use_scratch_database(endpoints: dict[str, str]) -> str:
    """Point this process and every function at a database of the run's own (dropped at the
    end): FerretDB scans, so leftovers in the dev database would slow every later poll."""
    name = f"bench_e2e_{uuid.uuid4().hex[:8]}"
    endpoints["mongodb"] = f"{endpoints['mongodb'].rsplit('/', 1)[0]}/{name}"
    os.environ["MONGODB_URI"] = endpoints["mongodb"]
    return name


# ---------------------------------------------------------------------- baselines
def raw_produce_rate(clients: int, messages: int) -> float:
    """Messages/s of `clients` threads, each with its own idempotent acks=all producer (as
    each sendMessage worker has), one produce in flight each, `messages` each."""
    from confluent_kafka import Producer

    from mayachat.kafka_config import producer_config
    from mayachat.settings import load_settings

    config = producer_config(load_settings())
    producers = [Producer(config) for _ in range(clients)]
    key = f"bench-raw-{uuid.uuid4().hex[:8]}".encode()  # one key: one partition, like a room
    value = json.dumps({"bench": "raw-produce", "padding": "x" * 200}).encode()
    for producer in producers:  # connections and producer ids, not measured
        for _ in range(WARMUP):
            produce_and_wait(producer, TOPIC, key, value)

    def run(producer: Any) -> None:
        for _ in range(messages):
            produce_and_wait(producer, TOPIC, key, value)

    with ThreadPoolExecutor(clients) as pool:
        started = time.perf_counter()
        list(pool.map(run, producers))
        elapsed = time.perf_counter() - started
    for producer in producers:
        producer.flush(10)
    return clients * messages / elapsed


def raw_mongo_rate(db: Any, count: int) -> float:
    """Documents/s of insert_many, in batches of the mapping's BatchSize, into a scratch
    collection with the messages collection's indexes (dropped after)."""
    from mayachat.adapters.mongo_schema import INDEXES, MESSAGES

    scratch = db[f"raw_{uuid.uuid4().hex[:8]}"]
    for collection, keys, options in INDEXES:
        if collection == MESSAGES:
            scratch.create_index(keys, **options)
    docs = [similar_document(i) for i in range(count)]
    try:
        started = time.perf_counter()
        for i in range(0, count, RAW_MONGO_BATCH):
            scratch.insert_many(docs[i : i + RAW_MONGO_BATCH], ordered=False)
        return count / (time.perf_counter() - started)
    finally:
        scratch.drop()


def similar_document(i: int) -> dict[str, Any]:
    from mayachat.ids import new_message_id

    return {
        "_id": new_message_id(),
        "roomId": "bench-raw-room",
        "seq": i + 1,
        "senderId": f"user{i % 10}",
        "clientMsgId": f"m{i}-{uuid.uuid4().hex[:8]}",
        "content": {"type": "text", "text": "bench"},
        "createdAt": datetime.now(UTC),
    }


# ---------------------------------------------------------------------- warm-up
def warm_up(phones: list[Phone], room: str, gateway: Any, per_round: int) -> list[Acked]:
    """Rounds of `per_round` sends per phone, two in flight, until a round starts no new
    worker. Two, so the pool ends up with more workers than one-in-flight phones keep
    busy: a phone's next frame may come before the gateway has released the worker of
    its last one (in big rooms the ack is posted before sendMessage returns), and each
    worker more is a cold start (a second or two on this machine) that must not land in
    the measured sends."""
    warmup: list[Acked] = []
    for round_ in range(WARMUP_ROUNDS):
        before = worker_pids(gateway)
        warmup += send_from_all(phones, room, per_round, f"w{round_}-", in_flight=2)
        if worker_pids(gateway) <= before:
            break
    return warmup


# ---------------------------------------------------------------------- checks and figures
def check_exactly_once(collection: Any, room: str, acked: list[Acked]) -> ExactlyOnce:
    fields = {"_id": 1, "seq": 1, "senderId": 1, "clientMsgId": 1}
    docs = list(collection.find({"roomId": room}, fields))
    stored = Counter(doc["_id"] for doc in docs)
    by_id = {doc["_id"]: doc for doc in docs}
    expected = {a.message_id: a for a in acked}
    seqs = Counter(doc["seq"] for doc in docs)
    client_ids = Counter((doc["senderId"], doc["clientMsgId"]) for doc in docs)
    return ExactlyOnce(
        acked=len(acked),
        stored=len(docs),
        missing=sum(1 for i in expected if i not in stored),
        unexpected=sum(1 for i in stored if i not in expected),
        duplicate_seqs=sum(n - 1 for n in seqs.values() if n > 1),
        duplicate_client_ids=sum(n - 1 for n in client_ids.values() if n > 1),
        mismatched=sum(
            1
            for i, a in expected.items()
            if i in by_id
            and (by_id[i]["seq"], by_id[i]["senderId"], by_id[i]["clientMsgId"])
            != (a.seq, a.sender, a.client_msg_id)
        ),
    )


def ack_to_mongo_lags(acked: list[Acked], first_seen: dict[str, float]) -> list[float]:
    return [first_seen[a.message_id] - a.acked_at for a in acked if a.message_id in first_seen]


def sustained_rate(acked: list[Acked]) -> float:
    """Acked messages / wall time from the first send to the last ack."""
    return len(acked) / (max(a.acked_at for a in acked) - min(a.sent_at for a in acked))


def worker_pids(gateway: Any) -> set[int]:
    """The route functions' worker processes (containers) alive now, over all functions."""
    runtime = gateway.runtime
    while True:
        try:  # the gateway's loop may start or retire a worker while we read
            return {pid for name in runtime.functions for pid in runtime.pool(name).worker_pids}
        except RuntimeError:
            continue


def persist_invocations(mappings: Any) -> list[Any]:
    """The run's persist invocations (mayachat_local.esm.Invocation), warm-up included."""
    return [i for m in mappings.mappings.values() for i in m.history]


def describe_invocations(invocations: list[Any]) -> str:
    """By outcome (success, partial, failure, timeout...), with typical size and duration."""
    if not invocations:
        return "none recorded"
    outcomes = Counter(i.outcome for i in invocations)
    durations = [i.duration_ms for i in invocations]
    records = sum(len(i.records) for i in invocations)
    return (
        ", ".join(f"{n} {kind}" for kind, n in sorted(outcomes.items()))
        + f" ({records / len(invocations):.0f} records each on average, duration p50 "
        f"{statistics.median(durations):.0f} ms, max {max(durations):.0f} ms)"
    )


# ---------------------------------------------------------------------- the report
@dataclass(frozen=True)
class Figures:
    clients: int
    messages: int
    acked: list[Acked]  # the measured messages
    raw_produce: float
    raw_mongo: float
    lags: list[float]
    window: float
    verdict: ExactlyOnce
    invocations: list[Any]  # the persist mappings' (esm.Invocation)
    load: float  # the 1-minute load average as the run started
    polls: list[float]  # how long each visibility poll took, seconds
    foreign: int  # other rooms' messages the run's persist mapping stored
    warmup: int  # sends per client before measuring
    per_round: int  # warm-up sends per client and round
    cold_starts: int

    @property
    def rate(self) -> float:
        return sustained_rate(self.acked)

    @property
    def send_to_ack(self) -> list[float]:
        return [a.acked_at - a.sent_at for a in self.acked]


def markdown_table(columns: list[tuple[str, str]]) -> str:
    """One row, numbers right-aligned (the last column, a verdict, left-aligned)."""
    aligns = ["---:"] * (len(columns) - 1) + ["---"]
    rows = [[name for name, _ in columns], aligns, [value for _, value in columns]]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def early_note(lags: list[float]) -> str:
    """Negative lags are real: the ack can come after the room's fan-out."""
    early = sum(1 for lag in lags if lag < 0)
    if not early:
        return ""
    return (
        f" {early} messages reached MongoDB before their sender had the ack (the ack can come"
        " after the room's fan-out)."
    )


def report(f: Figures, command: str) -> str:
    nan = float("nan")  # no lag at all: nothing measured reached MongoDB
    p50 = statistics.median(f.lags) if f.lags else nan
    p99 = percentile(f.lags, 0.99) if f.lags else nan
    invocations = describe_invocations(f.invocations)
    poll_p50 = statistics.median(f.polls) if f.polls else nan
    poll_max = max(f.polls, default=nan)
    early = early_note(f.lags)
    result = ("**passed**: " if f.verdict.ok else "**FAILED**: ") + f.verdict.summary()
    table = markdown_table(
        [
            ("clients", f"{f.clients}"),
            ("messages each", f"{f.messages}"),
            ("sustained msg/s", f"{f.rate:.0f}"),
            ("/ raw produce msg/s", f"{f.rate / f.raw_produce:.2f}x"),
            ("ack->MongoDB p50", f"{p50 * 1000:.0f} ms"),
            ("ack->MongoDB p99", f"{p99 * 1000:.0f} ms"),
            ("p50 / batching window", f"{p50 / f.window:.2f}x"),
            ("exactly once", "yes" if f.verdict.ok else "NO"),
        ]
    )
    return f"""## End to end (issue 8)

`{command}` on {machine()}.

{f.clients} real WebSocket clients in one room, {f.messages} sendMessage frames each, one in
flight per client (the next is sent when the ack comes back), after {f.warmup} unmeasured
warm-up sends each (rounds of {f.per_round}, two in flight, until a round starts no new
worker, then until MongoDB holds them all: worker cold starts and the first persist batch
are not measured).
Route-function workers started during the measured sends all the same: {f.cold_starts}.
The whole local system: the local API Gateway and the real route functions (sendMessage:
Kafka acks=all before the ack, fan-out to the room's other {f.clients - 1} members), the
local MSK event-source mappings of template.yaml (fresh consumer groups at the topics' end)
and the real persist function writing MongoDB (FerretDB, a database of the run's own).

Baselines in the same run:
- raw produce: {f.clients} threads x {f.messages} confluent-kafka produces + delivery report
  (acks=all, idempotent; one producer per thread, as each sendMessage worker has its own;
  one in flight each) to `{TOPIC}`: **{f.raw_produce:.0f} msg/s**;
- raw MongoDB (context, the persistence floor): pymongo insert_many of
  {f.clients * f.messages} similar documents in batches of {RAW_MONGO_BATCH} into a scratch
  collection with the messages indexes: {f.raw_mongo:.0f} docs/s.

{table}

Verdict: every message persisted exactly once: {result}; sustained {f.rate:.0f} msg/s
({f.rate / f.raw_produce:.2f}x the raw produce, which has no gateway, fan-out or persist);
ack -> MongoDB p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, mostly the
{f.window * 1000:.0f} ms batching window.

Exactly once (warm-up included): {result}. Checked: documents in the room = acked messages,
no duplicate (roomId, seq), no duplicate (senderId, clientMsgId), every acked messageId
stored once with its acked seq, sender and clientMsgId. Persist invocations (warm-up
included): {invocations}. Other rooms' messages produced to `{TOPIC}` during the run (other
work on this machine), which the run's mapping persisted too: {f.foreign}.

Sustained msg/s = measured acked messages / wall time from the first send to the last ack.
Per message, send -> ack took p50 {statistics.median(f.send_to_ack) * 1000:.0f} ms, p99
{percentile(f.send_to_ack, 0.99) * 1000:.0f} ms. The 1-minute load average was {f.load:.2f}
on {os.cpu_count()} cores as the run started: other work on the machine slows the system
(many processes) more than the baselines.

Lag = when a document first showed up in a poll of the room minus when its ack arrived. A
poll starts every {POLL_SECONDS * 1000:.0f} ms and took p50 {poll_p50 * 1000:.0f} ms, max
{poll_max * 1000:.0f} ms here, so a lag can be up to one interval plus one poll long.{early}
The persist mapping's batching window is {f.window * 1000:.0f} ms (template.yaml; MSK's
default when MaximumBatchingWindowInSeconds is unset is 500 ms): a batch waits up to that
long for more records unless BatchSize records are waiting, and the window dominates the
lag. Records that arrive while the room's partition is in an invocation wait for it to end,
then for a whole window (the local mapping starts a partition's window once the partition is
free), then for their own invocation: that is what stretches the tail. The "p50 / batching
window" column compares with the configured window, not with a measurement. Raw per-message
lags: `bench/results/end_to_end_lags.json`.

![ack -> MongoDB lag per message](img/end_to_end_lag.png)
"""


# ---------------------------------------------------------------------- main
def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=10, help="WebSocket clients (users)")
    parser.add_argument("--messages", type=int, default=50, help="messages per client")
    parser.add_argument(
        "--warmup", type=int, default=WARMUP, help="unmeasured sends per client and round"
    )
    return parser.parse_args()


@contextlib.contextmanager
def running_system(env: dict[str, str], groups: dict[str, str]) -> Iterator[tuple[Any, Any]]:
    """The local WebSocket gateway and the MSK event-source mappings, as `make dev` runs
    them, in background threads: (the gateway, the mappings)."""
    from mayachat_local.devtools.threaded import run_in_thread
    from mayachat_local.esm.service import LocalEventSourceMappings
    from mayachat_local.gateway.server import LocalWebSocketGateway

    gateway = LocalWebSocketGateway(TEMPLATE, port=0, env_overrides=env)
    with run_in_thread(gateway) as gw:
        mappings = LocalEventSourceMappings(
            TEMPLATE,
            env | {"WEBSOCKET_MANAGEMENT_ENDPOINT": gw.management_endpoint},
            group_ids=groups,
        )
        with run_in_thread(mappings) as esm:
            yield gw, esm


@dataclass(frozen=True)
class SystemRun:
    room: str
    warmup: list[Acked]
    acked: list[Acked]  # the measured messages
    unseen: set[str]  # acked messageIds MongoDB did not show within PERSIST_TIMEOUT
    first_seen: dict[str, float]  # messageId -> time.time() it first showed in MongoDB
    invocations: list[Any]  # the persist mappings' (esm.Invocation)
    cold_starts: int  # route-function workers started during the measured sends
    polls: list[float]  # how long each visibility poll took, seconds


def run_system(endpoints: dict[str, str], db: Any, run: str, args: argparse.Namespace) -> SystemRun:
    """Warm up, wait until the warm-up is in MongoDB, then the measured sends, and wait
    until MongoDB holds them (or PERSIST_TIMEOUT passed)."""
    from mayachat.adapters.mongo_schema import MESSAGES
    from mayachat_local.devtools.rooms import create_room

    groups = fresh_groups_at_topic_end(run)
    users = [f"e2e{i}-{run}" for i in range(args.clients)]
    room = create_room(users)
    poller = VisibilityPoller(db[MESSAGES], room)
    try:
        with contextlib.ExitStack() as running:  # unwound last in, first out
            gateway, mappings = running.enter_context(
                running_system(function_env(endpoints), groups)
            )
            poller.start()
            running.callback(poller.stop)
            phones = open_phones(gateway.url, users, running)
            warmup = warm_up(phones, room, gateway, args.warmup)
            if poller.wait_for([a.message_id for a in warmup], PERSIST_TIMEOUT):
                print("warning: the warm-up messages are not all in MongoDB; measuring anyway")
            warm_workers = worker_pids(gateway)
            acked = send_from_all(phones, room, args.messages, "m")
            cold_starts = len(worker_pids(gateway) - warm_workers)
            print(f"system: {sustained_rate(acked):.0f} msg/s; waiting for MongoDB")
            unseen = poller.wait_for([a.message_id for a in acked], PERSIST_TIMEOUT)
            invocations = persist_invocations(mappings)
    finally:
        delete_groups(list(groups.values()))
    return SystemRun(
        room, warmup, acked, unseen, poller.first_seen(), invocations, cold_starts, poller.durations
    )


def main() -> int:
    args = parse_args()
    command = shlex.join([".venv/bin/python", "bench/bench_end_to_end.py", *sys.argv[1:]])
    endpoints = start_stack("kafka", "mongodb", "redis", "aws")
    database = use_scratch_database(endpoints)

    from pymongo import MongoClient

    from mayachat.adapters.mongo_schema import MESSAGES
    from mayachat_local.esm.spec import read_mappings
    from mayachat_local.runtime.template import load_template

    client: MongoClient[dict[str, Any]] = MongoClient(endpoints["mongodb"])
    db = client.get_default_database()
    keep_database = False
    load = os.getloadavg()[0]
    try:
        raw_produce = raw_produce_rate(args.clients, args.messages)
        print(f"raw produce: {raw_produce:.0f} msg/s")
        raw_mongo = raw_mongo_rate(db, args.clients * args.messages)
        print(f"raw MongoDB insert_many: {raw_mongo:.0f} docs/s")
        system = run_system(endpoints, db, uuid.uuid4().hex[:8], args)
        verdict = check_exactly_once(db[MESSAGES], system.room, system.warmup + system.acked)
        foreign = db[MESSAGES].count_documents({"roomId": {"$ne": system.room}})
        print(("exactly once: " if verdict.ok else "NOT exactly once: ") + verdict.summary())
        if system.unseen:
            print(
                f"{len(system.unseen)} acked messages not in MongoDB after {PERSIST_TIMEOUT:.0f} s"
            )
        lags = ack_to_mongo_lags(system.acked, system.first_seen)
        window = read_mappings(load_template(TEMPLATE))["PersistFunction.ChatMessages"].window
        figures = Figures(
            args.clients,
            args.messages,
            system.acked,
            raw_produce,
            raw_mongo,
            lags,
            window,
            verdict,
            system.invocations,
            load,
            system.polls,
            foreign,
            len(system.warmup) // args.clients,
            args.warmup,
            system.cold_starts,
        )
        write_section("end_to_end", report(figures, command))
        (RESULTS / "end_to_end_lags.json").write_text(json.dumps(lags))
        keep_database = not verdict.ok
    finally:
        if keep_database:
            print(f"kept database {database} for inspection")
        else:
            client.drop_database(database)
        client.close()
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
