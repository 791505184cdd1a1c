"""The local stack's own promises: idempotent start, clear errors, `down` stops only ours."""

from __future__ import annotations

import json
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from mayachat_local.config import StackConfig
from mayachat_local.process import StackError, port_open, running_pid
from mayachat_local.services.kafka import KafkaService
from mayachat_local.stack import down, up


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def private_stack(stack_config: StackConfig, tmp_path: Path) -> StackConfig:
    """A second stack with its own state dir and ports, sharing the download cache."""
    return replace(stack_config, state_dir=tmp_path / "state", redis_port=_free_port())


def test_a_second_up_reuses_what_is_running(stack_config: StackConfig, redis_node_url: str) -> None:
    pid_before = running_pid(stack_config, "redis")
    (status,) = up(stack_config, ["redis"])
    assert status.state in ("running", "reused")
    assert running_pid(stack_config, "redis") == pid_before
    endpoints = json.loads(stack_config.endpoints_file.read_text())
    assert endpoints["redis"] == redis_node_url


def test_down_stops_exactly_what_this_stack_started(
    private_stack: StackConfig, stack_config: StackConfig, redis_node_url: str
) -> None:
    (status,) = up(private_stack, ["redis"])
    assert status.state == "started"
    assert port_open("127.0.0.1", private_stack.redis_port)
    assert (private_stack.logs_dir / "redis.log").exists()
    assert down(private_stack) == ["redis"]
    assert not port_open("127.0.0.1", private_stack.redis_port)
    # The main stack's redis, not started by private_stack, is untouched.
    assert port_open("127.0.0.1", stack_config.redis_port)
    assert down(private_stack) == []


def test_a_port_held_by_another_program_is_reported(private_stack: StackConfig) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", private_stack.redis_port))
        squatter.listen()
        with pytest.raises(StackError, match=r"port \d+ is taken by something"):
            up(private_stack, ["redis"])


def test_missing_java_is_named(
    private_stack: StackConfig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    with pytest.raises(StackError, match=r"Java 17\+ not found"):
        KafkaService(private_stack).install(print)


def test_mongodb_on_postgresql_brings_its_postgres_and_down_stops_both(
    private_stack: StackConfig,
) -> None:
    stack = replace(
        private_stack,
        mongodb_backend="postgresql",
        mongodb_port=_free_port(),
        postgres_port=_free_port(),
    )
    statuses = {s.name: s.state for s in up(stack, ["mongodb"])}
    assert statuses == {"postgres": "started", "mongodb": "started"}
    client: MongoClient[dict[str, Any]] = MongoClient(f"mongodb://127.0.0.1:{stack.mongodb_port}")
    client.db.things.insert_one({"_id": "a", "roomId": "r"})
    assert client.db.things.find_one({"roomId": "r"}) == {"_id": "a", "roomId": "r"}
    client.close()
    # Stopped in reverse: FerretDB first, then the server it was a client of.
    assert down(stack) == ["mongodb", "postgres"]
    assert not port_open("127.0.0.1", stack.postgres_port)


def test_mongodb_on_sqlite_needs_no_other_server(private_stack: StackConfig) -> None:
    stack = replace(private_stack, mongodb_backend="sqlite", mongodb_port=_free_port())
    (status,) = up(stack, ["mongodb"])
    client: MongoClient[dict[str, Any]] = MongoClient(status.endpoint)
    client.db.things.insert_one({"_id": "a"})
    assert client.db.things.count_documents({}) == 1
    client.close()
    assert down(stack) == ["mongodb"]
    assert (stack.data_dir("mongodb") / "db.sqlite").exists()
