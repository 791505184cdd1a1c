"""Round trips through the real local redis-server."""

from __future__ import annotations

import time
import uuid

import redis


def test_a_pipeline_runs_its_commands_in_one_round_trip(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    key = f"test:{uuid.uuid4().hex}"
    with client.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.incr(key)
        pipe.expire(key, 60)
        pipe.get(key)
        assert pipe.execute() == [1, 2, True, b"2"]
    assert 0 < client.ttl(key) <= 60
    client.delete(key)


def test_pubsub_delivers_a_published_message(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    channel = f"test:{uuid.uuid4().hex}"
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel)
    try:
        assert client.publish(channel, b"hello") == 1
        deadline = time.monotonic() + 5
        message = None
        while message is None and time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.5)
        assert message is not None
        assert message["data"] == b"hello"
    finally:
        pubsub.close()
