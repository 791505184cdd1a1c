"""Every adapter call can be traced (mayachat.tracing); off by default, at no cost."""

from __future__ import annotations

import inspect

import pytest

from mayachat import tracing
from mayachat.adapters import (
    apigw_connections,
    kafka_log,
    mongo_archive,
    mongo_reads,
    mongo_rooms,
    mongo_seq_blocks,
    mongo_store,
    redis_connections,
    redis_rate_limits,
    redis_rooms,
    sequence,
)

ADAPTERS = [
    (kafka_log.KafkaEventLog, "kafka"),
    (apigw_connections.ApiGatewayConnections, "connections"),
    (redis_connections.RedisConnectionRegistry, "redis"),
    (redis_rate_limits.RedisRateLimiter, "redis"),
    (redis_rooms.RedisMembershipCache, "redis"),
    (redis_rooms.RedisCursors, "redis"),
    (redis_rooms.RedisStatsCache, "redis"),
    (sequence.RedisRoomSequences, "redis"),
    (mongo_store.MongoMessageStore, "mongodb"),
    (mongo_archive.MongoMessageArchive, "mongodb"),
    (mongo_rooms.MongoRooms, "mongodb"),
    (mongo_seq_blocks.MongoSeqReservations, "mongodb"),
    (mongo_reads.MongoChatReads, "mongodb"),
]


@pytest.mark.parametrize(("adapter", "service"), ADAPTERS)
def test_every_public_adapter_call_is_wrapped(adapter: type, service: str) -> None:
    for name, member in vars(adapter).items():
        if inspect.isfunction(member) and not name.startswith("_"):
            assert hasattr(member, "__wrapped__"), f"{adapter.__name__}.{name} is not traced"


def test_off_by_default() -> None:
    tracing.tracer.cache_clear()
    assert tracing.tracer() is None  # POWERTOOLS_TRACE_DISABLED unset
