"""Redis in cluster mode, as ElastiCache Serverless always is: the functions' own user, the
cluster client, and the rule every key of a script or transaction must keep (one slot).

The adapters' own tests (test_redis_adapters.py, test_redis_sequences.py) run against this
cluster as well as against the single node."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import cast

import pytest
from redis import Redis
from redis.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import RedisClusterException, ResponseError

from mayachat import bootstrap
from mayachat.adapters import redis_keys as keys
from mayachat.model import Caller
from mayachat_local.services.redis import app_url

SCRIPT = "return redis.call('SET', KEYS[1], 1) and redis.call('SET', KEYS[2], 1)"


def test_a_script_whose_keys_span_slots_is_refused_by_the_server(redis_cluster_url: str) -> None:
    """What a future key without a {hash tag} would meet in AWS: CROSSSLOT, not the silent
    success as on a single node."""
    node = Redis.from_url(redis_cluster_url)  # one node, not the cluster client: no guard
    first, second = "rate:{alice}", "rate:{bob}"
    assert key_slot(first.encode()) != key_slot(second.encode())
    with pytest.raises(ResponseError, match="hash to the same slot"):  # CROSSSLOT
        node.eval(SCRIPT, 2, first, second)
    node.close()


def test_the_cluster_client_refuses_them_before_sending(redis_cluster_url: str) -> None:
    client = RedisCluster.from_url(redis_cluster_url)
    with pytest.raises(RedisClusterException, match="same key slot"):
        client.eval(SCRIPT, 2, "rate:{alice}", "rate:{bob}")
    client.eval(SCRIPT, 2, "rate:{alice}:a", "rate:{alice}:b")  # one hash tag: one slot
    client.close()


def test_the_keys_a_room_or_a_user_takes_together_share_a_slot(redis_cluster_url: str) -> None:
    client = RedisCluster.from_url(redis_cluster_url)
    room, user = f"room-{uuid.uuid4().hex[:8]}", f"user-{uuid.uuid4().hex[:8]}"
    by_room = [
        keys.room_members(room),
        keys.room_members_fence(room),
        keys.room_stats(room),
        keys.room_seq(room),
        keys.room_seq_restart(room),
        keys.room_pending(room),
        keys.room_publish_guard(room),
        keys.cursor(room, user),
        keys.send_claim(room, user, "c-1"),
    ]
    by_user = [keys.rate_limit(user, bucket) for bucket in ("frames:c-1", "user", "connect")]
    assert len({client.keyslot(k) for k in by_room}) == 1
    assert len({client.keyslot(k) for k in by_user}) == 1
    client.close()


@pytest.fixture
def as_the_functions(
    redis_cluster_url: str, monkeypatch: pytest.MonkeyPatch, mongodb_uri: str
) -> Iterator[None]:
    """The functions' settings in AWS: the cluster client, as their ACL user."""
    monkeypatch.setenv("REDIS_URL", app_url(redis_cluster_url))
    monkeypatch.setenv("REDIS_CLUSTER", "true")
    bootstrap.reset()
    yield
    bootstrap.reset()


def test_the_functions_user_runs_the_send_path_on_the_cluster(as_the_functions: None) -> None:
    client = bootstrap.redis_client()
    assert isinstance(client, RedisCluster)
    assert cast("RedisCluster", client).get_nodes()  # it read the slot map as its user
    caller = Caller(f"alice-{uuid.uuid4().hex[:6]}", f"c-{uuid.uuid4().hex[:6]}")
    arrival = bootstrap.connections().registry.register(caller.connection_id, caller.user_id)
    assert arrival.live == 1
    bootstrap.frame_gate().admit(caller, lambda: None)  # the rate-limit script, the heartbeat
    assert bootstrap.connections().registry.seen([caller.user_id])[caller.user_id].online
    assert bootstrap.connections().registry.connections_of([caller.user_id]) == {
        caller.user_id: [caller.connection_id]
    }
