"""Persist throughput: records/s through the persist service (decode, validate, bulk write,
room summaries) into MongoDB at the template's batch size, against, in the same run:
- raw: pymongo insert_many of the same documents (the floor; target: at least 0.8x of it)
- naive: one insert_one per message (target: at least 10x faster than it)

    .venv/bin/python bench/bench_persist.py [--messages 5000]
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from typing import Any

from common import machine, start_stack, write_section

BATCH = 500  # PersistFunction's BatchSize in template.yaml


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    endpoints = start_stack("mongodb", "kafka")

    from pymongo import MongoClient

    from mayachat.adapters.dead_letters import KafkaDeadLetters
    from mayachat.adapters.mongo_schema import ensure_indexes, message_to_document
    from mayachat.adapters.mongo_store import MongoMessageStore
    from mayachat.ids import new_message_id
    from mayachat.metrics import Count, Timing
    from mayachat.model import Message
    from mayachat.persistence import IncomingRecord, Persister

    client: MongoClient[dict[str, Any]] = MongoClient(endpoints["mongodb"])

    def fresh_db() -> Any:
        db = client[f"bench_persist_{uuid.uuid4().hex[:8]}"]
        ensure_indexes(db)
        return db

    def messages(n: int) -> list[Message]:
        rooms = [f"room-{i}" for i in range(20)]
        return [
            Message(
                new_message_id(),
                rooms[i % 20],
                i // 20 + 1,
                f"user{i % 7}",
                f"c{i}-{uuid.uuid4().hex[:6]}",
                {"type": "text", "text": f"message {i}"},
                "2026-11-26T12:00:00.000Z",
            )
            for i in range(n)
        ]

    class NoMetrics:
        def count(self, metric: Count, value: int = 1) -> None:
            pass

        def timing(self, metric: Timing, milliseconds: float) -> None:
            pass

    class NoDeadLetters(KafkaDeadLetters):
        def __init__(self) -> None:
            pass

    rates: dict[str, list[float]] = {"persist": [], "raw": [], "naive": []}
    for _ in range(args.rounds):
        batch = messages(args.messages)
        records = [
            IncomingRecord(
                "chat-messages", i % 3, i, m.room_id.encode(), json.dumps(m.to_wire()).encode(), {}
            )
            for i, m in enumerate(batch)
        ]
        db = fresh_db()
        service = Persister(
            "chat-messages",
            "message-persistence",
            MongoMessageStore(db),
            NoDeadLetters(),
            NoMetrics(),
        )
        started = time.perf_counter()
        for i in range(0, len(records), BATCH):
            service.persist(records[i : i + BATCH])
        rates["persist"].append(len(records) / (time.perf_counter() - started))
        assert db["messages"].count_documents({}) == len(records)
        client.drop_database(db.name)

        db = fresh_db()
        docs = [message_to_document(m) for m in messages(args.messages)]
        started = time.perf_counter()
        for i in range(0, len(docs), BATCH):
            db["messages"].insert_many(docs[i : i + BATCH], ordered=False)
        rates["raw"].append(len(docs) / (time.perf_counter() - started))
        client.drop_database(db.name)

        db = fresh_db()
        docs = [message_to_document(m) for m in messages(min(args.messages, 1000))]
        started = time.perf_counter()
        for doc in docs:
            db["messages"].insert_one(doc)
        rates["naive"].append(len(docs) / (time.perf_counter() - started))
        client.drop_database(db.name)

    best = {k: sorted(v)[len(v) // 2] for k, v in rates.items()}  # median of the rounds
    vs_raw, vs_naive = best["persist"] / best["raw"], best["persist"] / best["naive"]
    rows = [
        (
            "persist service (decode + validate + insert_many + room summaries)",
            best["persist"],
            "1.00",
        ),
        (
            "raw pymongo `insert_many` of the same documents",
            best["raw"],
            f"persist = {vs_raw:.2f}x raw (target >= 0.8)",
        ),
        (
            "naive `insert_one` per message",
            best["naive"],
            f"persist = {vs_naive:.1f}x naive (target >= 10)",
        ),
    ]
    table = "\n".join(f"| {name} | {rate:,.0f} | {ratio} |" for name, rate, ratio in rows)
    write_section(
        "persist",
        f"""## Persist throughput (issue 4)

`.venv/bin/python bench/bench_persist.py --messages {args.messages} --rounds {args.rounds}`
on {machine()}; MongoDB wire protocol: FerretDB v1 on {_backend()}. Batch size {BATCH}
(the template's). Median of {args.rounds} rounds, messages/s:

| path | messages/s | ratio |
|---|---:|---:|
{table}

Verdict: at least 0.8x raw: **{"met" if vs_raw >= 0.8 else "not met"}** ({vs_raw:.2f}x); at least
10x the naive loop: **{"met" if vs_naive >= 10 else "not met"}** ({vs_naive:.1f}x).
""",
    )


def _backend() -> str:
    from mayachat_local.config import StackConfig

    backend = StackConfig.from_env().mongodb_backend
    return "PostgreSQL" if backend == "postgresql" else "SQLite"


if __name__ == "__main__":
    main()
