"""MongoDB stops for seven seconds during a stream of messages and comes back: the persist mapping
retries, and every message ends up in MongoDB exactly once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo import MongoClient

from mayachat_local.config import StackConfig
from mayachat_local.esm import LocalEventSourceMappings, run_in_thread
from mayachat_local.process import running_pid, stop
from mayachat_local.stack import function_environment, up
from tests.integration.esm_support import unique
from tests.integration.test_esm_persist import (
    MESSAGES,
    TEMPLATE,
    message,
    send,
    start_group_at_end,
    wire,
)

STREAM = 120  # messages, sent over about three seconds


@pytest.fixture
def persist_with_default_backoff(
    stack_endpoints: dict[str, str],
) -> Iterator[LocalEventSourceMappings]:
    """Lambda-like retry delays (0.5 s doubling): the outage outlasts the first retries."""
    group = unique("persist-outage")
    start_group_at_end(group, "chat-messages")
    env = {**function_environment(stack_endpoints), "POWERTOOLS_LOG_LEVEL": "ERROR"}
    esm = LocalEventSourceMappings(TEMPLATE, env, only=[MESSAGES], group_ids={MESSAGES: group})
    with run_in_thread(esm):
        yield esm


def test_a_mongodb_outage_loses_nothing_and_doubles_nothing(
    persist_with_default_backoff: LocalEventSourceMappings,
    stack_config: StackConfig,
    mongodb_uri: str,
) -> None:
    if running_pid(stack_config, "mongodb") is None:
        pytest.skip("MongoDB was not started by this stack; the test will not stop it")
    room = unique("outage-room")
    sent = [message(room, seq) for seq in range(1, STREAM + 1)]

    def stream() -> None:
        for i in range(0, STREAM, 4):
            send(room, [wire(m) for m in sent[i : i + 4]])
            time.sleep(0.1)

    producer = threading.Thread(target=stream)
    producer.start()
    time.sleep(0.5)
    assert stop(stack_config, "mongodb")  # the outage begins mid-stream
    # Longer than the driver's 5 s server selection, so invocations do fail meanwhile.
    time.sleep(7)
    up(stack_config, ["mongodb"])  # and ends
    producer.join()

    persist_with_default_backoff.wait_until_caught_up(MESSAGES, timeout=120)
    client: MongoClient[dict[str, Any]] = MongoClient(mongodb_uri)
    stored = list(client.get_default_database().messages.find({"roomId": room}, {"seq": 1}))
    client.close()
    assert sorted(d["seq"] for d in stored) == list(range(1, STREAM + 1))  # each exactly once
    history = persist_with_default_backoff.mapping(MESSAGES).history
    assert any(entry.outcome in ("failure", "partial", "timeout") for entry in history), (
        "the outage never failed an invocation"
    )
