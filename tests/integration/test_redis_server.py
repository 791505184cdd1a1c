"""Round trips through the real local redis-server: the single node, and (the functions' user)
the cluster too."""

from __future__ import annotations

import time
import uuid

import pytest
import redis
from redis.cluster import RedisCluster


def test_a_pipeline_runs_its_commands_in_one_round_trip(redis_node_url: str) -> None:
    client = redis.Redis.from_url(redis_node_url)
    key = f"test:{uuid.uuid4().hex}"
    with client.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.incr(key)
        pipe.expire(key, 60)
        pipe.get(key)
        assert pipe.execute() == [1, 2, True, b"2"]
    assert 0 < client.ttl(key) <= 60
    client.delete(key)


def test_pubsub_delivers_a_published_message(redis_node_url: str) -> None:
    client = redis.Redis.from_url(redis_node_url)
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


@pytest.mark.parametrize("server", ["redis_node_url", "redis_cluster_url"])
def test_the_functions_user_can_do_its_work_and_nothing_else(
    server: str, request: pytest.FixtureRequest
) -> None:
    """The ACL user the functions connect as (mayachat.adapters.redis_acl): its keys and
    commands, no FLUSHALL, CONFIG or KEYS, no key outside its patterns; on every node."""
    from mayachat_local.services.redis import app_url

    url = app_url(request.getfixturevalue(server))
    app = RedisCluster.from_url(url) if server == "redis_cluster_url" else redis.Redis.from_url(url)
    room = f"room:{{{uuid.uuid4().hex}}}:test"
    assert app.set(room, "1", ex=60)
    assert app.get(room) == b"1"
    assert app.eval("return redis.call('GET', KEYS[1])", 1, room) == b"1"
    for forbidden in (
        lambda: app.flushall(),
        lambda: app.config_get("maxmemory"),
        lambda: app.keys("*"),
        lambda: app.set("somebody-else:key", "x"),
    ):
        try:
            forbidden()
        except redis.exceptions.NoPermissionError:
            continue
        raise AssertionError("the functions' user was allowed what it must not do")
    app.delete(room)
