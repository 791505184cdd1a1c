"""The faults. Each is a function that injects its fault, keeps it for about `duration`
seconds while the workload runs, and heals it (the system is whole again when it returns);
`@fault(name, summary)` registers it under the name the CLI selects it by.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from mayachat.settings import Settings
from mayachat_local.chaos import dead_letters
from mayachat_local.chaos.cluster import Cluster
from mayachat_local.chaos.config import PERSIST_FAILURE_SECONDS, REDIS_REPLICA_PORT
from mayachat_local.esm import Backoff, MappingSpec

Say = Callable[[str], None]


@dataclass
class FaultContext:
    cluster: Cluster
    settings: Settings  # how to reach the chaos stack's Kafka
    persist: MappingSpec  # the chat-messages mapping, with the template's retry settings
    backoff: Backoff  # how the local mapping spaces its retries
    say: Say
    notes: list[str] = field(default_factory=list)  # what happened, for the report

    def note(self, text: str) -> None:
        self.notes.append(text)
        self.say(f"    {text}")


@dataclass(frozen=True)
class Fault:
    name: str
    summary: str
    run: Callable[[FaultContext, float], None]


FAULTS: dict[str, Fault] = {}


def fault(name: str, summary: str) -> Callable[[Callable[[FaultContext, float], None]], Fault]:
    def register(run: Callable[[FaultContext, float], None]) -> Fault:
        FAULTS[name] = Fault(name, summary, run)
        return FAULTS[name]

    return register


@fault("kafka-kill", "kill -9 the Kafka broker, restart it after the fault's duration")
def kafka_kill(ctx: FaultContext, duration: float) -> None:
    ctx.cluster.kill("kafka")
    time.sleep(duration)
    started = time.monotonic()
    ctx.cluster.restart("kafka")
    ctx.note(f"kafka killed for {duration:.0f}s, back in {time.monotonic() - started:.1f}s")


@fault("kafka-pause", "SIGSTOP the Kafka broker (at least 7 s), then SIGCONT")
def kafka_pause(ctx: FaultContext, duration: float) -> None:
    # Longer than the producer's delivery timeout (5 s, and the route waits 1 s more): sends
    # get `unavailable` while the frozen broker may still hold them.
    held = max(7.0, duration)
    ctx.cluster.pause("kafka")
    try:
        time.sleep(held)
    finally:
        ctx.cluster.resume("kafka")
    ctx.note(f"kafka stopped (SIGSTOP) for {held:.0f}s")


@fault("redis-kill", "kill -9 Redis, restart it empty (no persistence)")
def redis_kill(ctx: FaultContext, duration: float) -> None:
    down = max(1.0, duration / 2)
    ctx.cluster.kill("redis")
    time.sleep(down)
    ctx.cluster.restart("redis")
    ctx.note(f"redis killed, restarted empty after {down:.0f}s")
    time.sleep(duration - down)


@fault("redis-flushall", "FLUSHALL on Redis mid-stream, twice, a second apart")
def redis_flushall(ctx: FaultContext, duration: float) -> None:
    primary = ctx.cluster.redis()
    for _ in range(2):
        primary.flushall()
        time.sleep(1.0)
    ctx.note("FLUSHALL twice, 1s apart")
    time.sleep(max(0.0, duration - 2.0))


@fault(
    "redis-failover",
    "a replica lags (its replication held back), the primary dies, the replica is promoted "
    "and the endpoint moves to it; then a planned switchback to a fresh primary",
)
def redis_failover(ctx: FaultContext, duration: float) -> None:
    cluster = ctx.cluster
    cluster.start_replica()
    assert cluster.link is not None
    cluster.link.hold()  # from now on the replica gets nothing: it lags
    time.sleep(duration)
    lag = _replication_lag(cluster)
    cluster.kill("redis")  # which also drops every connection the proxy had to it
    cluster.promote_replica()
    ctx.note(
        f"replica held back {duration:.0f}s ({lag} bytes of replication behind), primary "
        "killed, replica promoted (REPLICAOF NO ONE), the functions' endpoint moved to it"
    )
    time.sleep(1.0)
    cluster.restore_primary()
    ctx.note("then a planned switchback: a fresh primary synced from it, writes paused, moved")


@fault(
    "mongo-stop",
    "stop MongoDB until the persist mapping discards records (its whole retry budget), "
    "then the fault's duration more, then start it again",
)
def mongo_stop(ctx: FaultContext, duration: float) -> None:
    budget = retry_budget(ctx.persist, ctx.backoff)
    # Infinite retries never discard: then 25 s (the partition stalls, nothing is dropped).
    cap = budget + duration + 15.0 if budget is not None else max(duration, 25.0)
    before = dead_letters.ends(ctx.settings)
    ctx.cluster.stop("mongodb")
    started = time.monotonic()
    discarded_at: float | None = None
    while time.monotonic() - started < cap:
        time.sleep(1.0)
        if discarded_at is None and _mapping_discarded(ctx.settings, before):
            discarded_at = time.monotonic()
        # Past the budget for `duration` more: the records behind the first one go too.
        if discarded_at is not None and time.monotonic() - discarded_at >= duration:
            break
    ctx.cluster.restart("mongodb")
    outage = time.monotonic() - started
    seen = (
        f"first record discarded after {discarded_at - started:.0f}s"
        if discarded_at is not None
        else "no record discarded"
    )
    ctx.note(
        f"mongodb down {outage:.0f}s (retry budget ~{budget:.0f}s: {ctx.persist.retry_limit} "
        f"retries, {PERSIST_FAILURE_SECONDS:.0f}s per failing invocation); {seen}"
        if budget is not None
        else f"mongodb down {outage:.0f}s (infinite retries); {seen}"
    )


def _mapping_discarded(settings: Settings, since: dict[int, int]) -> bool:
    """Whether the mapping sent a record to its on-failure destination since `since` (the
    persist function's own dead letters, such as seq conflicts, do not count)."""
    try:
        letters = dead_letters.read(settings, since, timeout=5)
    except Exception:  # Kafka busy: ask again at the next tick
        return False
    return any(d.reason.startswith("mapping:") for d in letters)


def retry_budget(spec: MappingSpec, backoff: Backoff) -> float | None:
    """How long the mapping keeps a record before discarding it while every invocation fails:
    (retries + 1) invocations of PERSIST_FAILURE_SECONDS each, and the backoff between them.
    None: retries are infinite (the partition stalls instead)."""
    retries = spec.retry_limit
    if retries is None:
        return None
    waits = sum(backoff.delay(n) for n in range(1, retries + 1))
    return (retries + 1) * PERSIST_FAILURE_SECONDS + waits


def _replication_lag(cluster: Cluster) -> str:
    """How many bytes of the primary's replication stream the replica has not applied."""
    try:
        written = int(cluster.redis().info("replication")["master_repl_offset"])
        replica = cluster.redis(REDIS_REPLICA_PORT).info("replication")
        return str(written - int(replica["slave_repl_offset"]))
    except (redis.RedisError, KeyError, ValueError):
        return "?"
