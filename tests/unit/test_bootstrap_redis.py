"""Which Redis client bootstrap builds: standalone by default, the cluster client when
REDIS_CLUSTER is set (ElastiCache Serverless is cluster-mode)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from redis import Redis
from redis.cluster import RedisCluster

from mayachat import bootstrap
from mayachat.settings import ConfigError, load_settings


@pytest.fixture(autouse=True)
def fresh_bootstrap(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("REDIS_URL", "REDIS_CLUSTER"):
        monkeypatch.delenv(name, raising=False)
    bootstrap.reset()
    yield
    bootstrap.reset()


def test_standalone_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "rediss://cache.example:6379/0")
    assert load_settings().redis_cluster is False
    client = bootstrap.redis_client()
    # Building the standalone client opens no connection: nothing listens there.
    assert type(client) is Redis
    kwargs = client.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"]) == ("cache.example", 6379)
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (1, 1)
    assert client.get_retry() is not None
    assert client.get_retry().get_retries() == 2  # not redis-py's default 10: fail fast


@pytest.mark.parametrize("value", ["true", "True", "1"])
def test_redis_cluster_builds_the_cluster_client(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    sentinel = object()

    def from_url(url: str, **options: Any) -> object:
        # The real one connects at once to read the slot map; the unit tests stay offline.
        calls.append((url, options))
        return sentinel

    monkeypatch.setattr(RedisCluster, "from_url", from_url)
    monkeypatch.setenv("REDIS_URL", "rediss://clustercfg.example.cache.amazonaws.com:6379/0")
    monkeypatch.setenv("REDIS_CLUSTER", value)
    assert bootstrap.redis_client() is sentinel
    assert bootstrap.redis_client() is sentinel  # once per container
    ((url, options),) = calls
    assert url == "rediss://clustercfg.example.cache.amazonaws.com:6379/0"
    assert (options["socket_timeout"], options["socket_connect_timeout"]) == (1, 1)
    assert options["retry"].get_retries() == 2


def test_an_invalid_flag_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_CLUSTER", "sometimes")
    with pytest.raises(ConfigError, match="REDIS_CLUSTER"):
        load_settings()
