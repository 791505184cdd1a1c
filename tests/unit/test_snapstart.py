"""SnapStart's hooks: nothing holding a socket, a Kafka producer id or `random`'s state is in
the snapshot, and each restored sandbox builds its own clients."""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import snapshot_restore_py

from mayachat import bootstrap, snapstart
from mayachat.adapters import kafka_log


class FakeKafkaLog:
    """Stands in for KafkaEventLog: no librdkafka threads in a unit test."""

    def __init__(self, config: dict[str, Any], delivery_timeout_s: float = 5.0) -> None:
        self.closed = False

    def close(self, timeout_s: float = 5.0) -> None:
        self.closed = True


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Standalone Redis: building it opens no connection; Kafka faked.
    monkeypatch.setenv("REDIS_URL", "redis://cache.example:6379/0")
    monkeypatch.delenv("REDIS_CLUSTER", raising=False)
    monkeypatch.setattr(kafka_log, "KafkaEventLog", FakeKafkaLog)
    monkeypatch.setattr(snapshot_restore_py, "_before_snapshot_registry", [])
    monkeypatch.setattr(snapshot_restore_py, "_after_restore_registry", [])
    bootstrap.reset()
    yield
    bootstrap.reset()


def warm() -> object:
    return bootstrap.event_log(), bootstrap.rate_limiter()


def run(registry: list[Any]) -> None:
    for hook, args, kwargs in registry:
        hook(*args, **kwargs)


def test_the_hooks_rebuild_the_kafka_producer_and_the_redis_client() -> None:
    snapstart.register(warm)
    log, redis = bootstrap.event_log(), bootstrap.redis_client()
    run(snapshot_restore_py._before_snapshot_registry)
    assert log.closed  # type: ignore[attr-defined]
    assert bootstrap.event_log.cache_info().currsize == 0  # nothing built is in the snapshot
    assert bootstrap.redis_client.cache_info().currsize == 0
    run(snapshot_restore_py._after_restore_registry)
    assert bootstrap.event_log.cache_info().currsize == 1  # built again by `warm`
    assert bootstrap.event_log() is not log
    assert bootstrap.redis_client() is not redis


def test_before_the_snapshot_the_deferred_imports_are_done() -> None:
    bootstrap.prepare_snapshot()
    assert "mayachat.protocol" in sys.modules
    assert "botocore.auth" in sys.modules


def test_each_restored_sandbox_reseeds_random() -> None:
    random.seed(7)
    snapshotted = random.getstate()
    bootstrap.after_restore()
    assert random.getstate() != snapshotted
