"""Where the chaos stack listens and keeps its files, and the parameters of one run.

The chaos stack shares nothing with the default one (`make dev`, the tests): its own state
dir (`.local/chaos`: logs, pid files, data of every server) and its own ports, so the harness
may kill its servers while other tests use theirs. Only the download cache (Kafka jars, the
FerretDB binary) is shared, read-only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from mayachat_local.config import StackConfig
from mayachat_local.esm import Backoff

# The backing servers, started with mayachat_local.stack.up(): processes we may kill.
KAFKA_PORT = 19092
KAFKA_CONTROLLER_PORT = 19093
KAFKA_SECURE_PORT = 19094  # its SASL_SSL listener (unused by the harness, but bound)
MONGODB_PORT = 27117
POSTGRES_PORT = 15432  # FerretDB's backend
REDIS_PORT = 16379
AWS_PORT = 14566
# Started by the harness itself.
REDIS_REPLICA_PORT = 16380  # redis-server --replicaof, for redis-failover
REDIS_PROXY_PORT = 16381  # what the functions get as REDIS_URL: the "ElastiCache endpoint"
REPLICATION_LINK_PORT = 16382  # the replica's link to its primary, which can be held back
REPLICA = "redis-replica"  # its pid file and data dir name

HOST = "127.0.0.1"  # all traffic stays on loopback

# How long one persist invocation takes to fail while MongoDB is down: the functions' pymongo
# client waits serverSelectionTimeoutMS (5000, in mayachat.bootstrap.mongo_database).
PERSIST_FAILURE_SECONDS = 5.0
# The mapping's retry spacing: the emulator's default (Lambda-like), or short for --bounded.
DEFAULT_BACKOFF = Backoff()
FAST_BACKOFF = Backoff(initial=0.1, cap=0.5)


def chaos_stack(base: StackConfig | None = None) -> StackConfig:
    """The default stack's config (repo, cache) with the chaos state dir and ports."""
    base = base or StackConfig.from_env()
    return dataclasses.replace(
        base,
        state_dir=(base.repo / ".local" / "chaos").resolve(),
        host=HOST,
        kafka_port=KAFKA_PORT,
        kafka_controller_port=KAFKA_CONTROLLER_PORT,
        kafka_secure_port=KAFKA_SECURE_PORT,
        mongodb_port=MONGODB_PORT,
        redis_port=REDIS_PORT,
        aws_port=AWS_PORT,
        postgres_port=POSTGRES_PORT,
        # One primary (with the harness's replica and proxy): the faults it injects are a
        # node's kill, flush and failover behind one endpoint. The cluster client's own paths
        # are the cluster tests' (tests/integration/test_redis_cluster.py).
        redis_mode="single",
    )


def owned_ports(config: StackConfig) -> dict[str, int]:
    """Every port the harness listens on or starts a server on."""
    return {
        "kafka": config.kafka_port,
        "kafka-controller": config.kafka_controller_port,
        "kafka-secure": config.kafka_secure_port,
        "mongodb": config.mongodb_port,
        "postgres": config.postgres_port,
        "redis": config.redis_port,
        "aws": config.aws_port,
        REPLICA: REDIS_REPLICA_PORT,
        "redis-proxy": REDIS_PROXY_PORT,
        "replication-link": REPLICATION_LINK_PORT,
    }


@dataclass(frozen=True)
class RunConfig:
    """One run's parameters (the CLI's options)."""

    faults: tuple[str, ...]
    duration_per_fault: float = 8.0  # how long each fault lasts (mongo-stop: see nemesis)
    quiet: float = 8.0  # healthy time after each fault, still inside its window
    baseline: float = 8.0  # healthy time before the first fault: the "none" row
    phones: int = 6
    rooms: int = 2
    ack_timeout: float = 10.0  # no answer within this: resend the same clientMsgId
    give_up_after: float = 60.0  # per message, from its first send: then "not acked"
    max_tries: int = 12  # sends of one clientMsgId at most
    pace: float = 0.4  # seconds a phone waits between its messages (< 5 frames/s)
    reconnect_every: int = 15  # messages; a phone then reconnects (a new socket, a new token)
    reader_interval: float = 0.5  # catch-up readers poll this often
    settle_timeout: float = 150.0  # for the persist mappings to catch up after the faults
    backoff: Backoff = DEFAULT_BACKOFF
    bounded: bool = False
    report: Path | None = None

    def shortened(self) -> RunConfig:
        """The short run of `make test`: every fault, about 3 minutes in all."""
        return dataclasses.replace(
            self,
            duration_per_fault=min(self.duration_per_fault, 4.0),
            quiet=min(self.quiet, 3.0),
            baseline=min(self.baseline, 3.0),
            give_up_after=min(self.give_up_after, 30.0),
            settle_timeout=min(self.settle_timeout, 60.0),
            backoff=FAST_BACKOFF,
            bounded=True,
        )
