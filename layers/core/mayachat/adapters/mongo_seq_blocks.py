"""Durable seq ceilings: each room's claimed blocks of seqs (the SeqReservations port)."""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo import DESCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from mayachat.adapters.mongo_schema import SEQ_BLOCKS, Document
from mayachat.tracing import traced_calls


@traced_calls("mongodb")
class MongoSeqReservations:
    """One document per claimed block, its _id unique: an insert either claims the block or
    fails with a duplicate key. Only unique-key inserts are used because FerretDB v1 on SQLite
    does not isolate concurrent updates (a concurrent $inc or compare-and-set loses writes);
    MongoDB and Atlas are fine with this too."""

    def __init__(self, db: Database[Document]) -> None:
        self._blocks = db[SEQ_BLOCKS]

    def claim_block(self, room_id: str) -> int:
        last = self._blocks.find_one(
            {"roomId": room_id}, {"block": 1}, sort=[("block", DESCENDING)]
        )
        block = int(last["block"]) + 1 if last else 0
        while True:
            try:
                self._blocks.insert_one(
                    {
                        "_id": f"{room_id}:{block:012d}",
                        "roomId": room_id,
                        "block": block,
                        "claimedAt": datetime.now(UTC),
                    }
                )
            except DuplicateKeyError:
                block += 1
                continue
            return block
