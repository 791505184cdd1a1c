"""One chaos run: the stack, the in-process emulators, the workload, the faults one after
another, settling, the checks, and a teardown that runs whatever happened."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import MongoClient

from mayachat import bootstrap
from mayachat.adapters import redis_keys
from mayachat.model import RoomType
from mayachat.settings import Settings, load_settings
from mayachat_local.chaos import dead_letters
from mayachat_local.chaos.artifacts import dump, log_to_file, stderr_to
from mayachat_local.chaos.checker import Findings, ReaderLog, Window, check
from mayachat_local.chaos.cluster import Cluster
from mayachat_local.chaos.config import RunConfig, chaos_stack
from mayachat_local.chaos.nemesis import FAULTS, FaultContext
from mayachat_local.chaos.readers import FINAL_CATCH_UP_SECONDS, Reader, RestReader, SyncReader
from mayachat_local.chaos.report import render, write
from mayachat_local.chaos.workload import Phone, Recorder
from mayachat_local.devtools.rooms import create_room
from mayachat_local.devtools.threaded import run_in_thread
from mayachat_local.esm import LocalEventSourceMappings
from mayachat_local.gateway.server import LocalWebSocketGateway
from mayachat_local.http_api.server import LocalHttpApi
from mayachat_local.stack import function_environment, say

MESSAGES = "PersistFunction.ChatMessages"
G7_GRACE = 1.0  # seconds after the last socket closed
G7_PATIENCE = 5.0  # then re-checked until this many seconds, before calling it a failure


@dataclass
class Outcome:
    findings: Findings | None = None
    windows: list[Window] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    readers: list[str] = field(default_factory=list)
    dead_letters: str = "not read"


def run(config: RunConfig) -> int:
    """Run, report, clean up; 0 when nothing was violated, else 1."""
    started = time.monotonic()
    stack = chaos_stack()
    log_to_file(stack.logs_dir / "harness.log")
    cluster = Cluster(stack, say)
    outcome = Outcome()
    with stderr_to(stack.logs_dir / "stderr.log"):
        try:
            _run(config, cluster, outcome)
        except (Exception, KeyboardInterrupt) as exc:  # the run failed or was stopped
            logging.getLogger("mayachat_local.chaos").exception("chaos run failed")
            outcome.problems.append(f"the run stopped early: {type(exc).__name__}: {exc}")
        finally:
            gc.collect()  # the emulators' Kafka clients go before the broker does
            left = cluster.close()
            if left:
                outcome.problems.append(f"still listening after teardown: {', '.join(left)}")
    elapsed = time.monotonic() - started
    text = _report(config, outcome, elapsed)
    say(text)
    if config.report is not None:
        write(config.report, text)
        say(f"report written to {config.report}")
    say(f"chaos run took {elapsed:.0f}s")
    ok = outcome.findings is not None and outcome.findings.ok and not outcome.problems
    return 0 if ok else 1


def _run(config: RunConfig, cluster: Cluster, outcome: Outcome) -> None:
    template = cluster.config.repo / "template.yaml"
    cluster.clean_start()
    endpoints = cluster.start()
    env = {**function_environment(endpoints), "POWERTOOLS_LOG_LEVEL": "WARNING"}
    os.environ.update(env)  # this process: rooms, the mappings' own Kafka client, the checks
    bootstrap.reset()
    settings = load_settings()
    run_id = uuid.uuid4().hex[:6]
    phones = [f"chaos-{run_id}-p{i}" for i in range(config.phones)]
    readers = [f"chaos-{run_id}-r{j}" for j in range(config.rooms)]
    rooms = [create_room([*phones, r], RoomType.GROUP) for r in readers]
    with contextlib.ExitStack() as services:
        gateway = services.enter_context(
            run_in_thread(
                LocalWebSocketGateway(template, host=cluster.config.host, port=0, env_overrides=env)
            )
        )
        managed = {**env, "WEBSOCKET_MANAGEMENT_ENDPOINT": gateway.management_endpoint}
        esm = services.enter_context(
            run_in_thread(
                LocalEventSourceMappings(
                    template, managed, settings=settings, backoff=config.backoff
                )
            )
        )
        rest = services.enter_context(
            run_in_thread(
                LocalHttpApi(template, host=cluster.config.host, port=0, env_overrides=managed)
            )
        )
        say(f"chaos stack up: {gateway.url}, {rest.url}, rooms {', '.join(rooms)}")
        recorder = Recorder()
        stopping = threading.Event()
        workload = [Phone(u, rooms, gateway.url, recorder, config, stopping) for u in phones]
        catch_up: list[Reader] = []
        for user, room in zip(readers, rooms, strict=True):
            catch_up.append(SyncReader(user, room, config.reader_interval, gateway.url))
            catch_up.append(RestReader(user, room, config.reader_interval, rest.url))
        outcome.readers = [r.label for r in catch_up]
        outcome.windows.append(Window("none (baseline)", time.monotonic(), ("no fault",)))
        with _running(workload, catch_up, stopping, config, outcome):
            _warm_up(recorder, phones, outcome)
            time.sleep(config.baseline)
            _faults(config, cluster, esm, settings, outcome)
            stopping.set()
            _join(workload, config.give_up_after + config.ack_timeout + 10, outcome)
            say("waiting for the persist mappings to catch up")
            try:
                esm.wait_until_caught_up(timeout=config.settle_timeout)
            except TimeoutError as exc:
                outcome.problems.append(f"the persist mappings did not catch up: {exc}")
            highest = _highest_seqs(endpoints["mongodb"], rooms)
            for reader in catch_up:
                reader.target = highest.get(reader.room, 0)
                reader.finishing.set()
            _join(catch_up, FINAL_CATCH_UP_SECONDS + 30, outcome)
            outcome.problems += [
                f"{r.label}: its final catch-up did not reach seq {r.target} (cursor {r.cursor})"
                for r in catch_up
                if not r.final_complete
            ]
        stale = _stale_connections(cluster, [*phones, *readers])
        stored = _stored_messages(endpoints["mongodb"], rooms)
        dead = dead_letters.read(settings)
        outcome.dead_letters = f"{len(dead)} records ({dead_letters.summary(dead)})"
        logs = [ReaderLog(r.label, r.room, dict(r.returned), r.final_complete) for r in catch_up]
        outcome.findings = check(
            outcome.windows, recorder.sends, recorder.acks, stored, logs, dead, stale
        )
        dump(cluster.config.state_dir / "run.json", outcome, recorder, stored, logs, dead)


def _faults(
    config: RunConfig,
    cluster: Cluster,
    esm: LocalEventSourceMappings,
    settings: Settings,
    outcome: Outcome,
) -> None:
    for name in config.faults:
        fault = FAULTS[name]
        ctx = FaultContext(cluster, settings, esm.specs[MESSAGES], config.backoff, say)
        start = time.monotonic()
        say(f"fault {name}: {fault.summary}")
        try:
            fault.run(ctx, config.duration_per_fault)
        except Exception as exc:
            ctx.note(f"the fault itself failed: {type(exc).__name__}: {exc}")
            outcome.problems.append(f"{name}: {type(exc).__name__}: {exc}")
            cluster.heal()
        outcome.windows.append(Window(name, start, tuple(ctx.notes)))
        time.sleep(config.quiet)


def _warm_up(recorder: Recorder, phones: list[str], outcome: Outcome, timeout: float = 90) -> None:
    """Until every phone had an ack: the functions' first (cold) starts are behind us."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if recorder.acked_senders() >= set(phones):
            took = time.monotonic() - started
            note = f"no fault; the functions' cold starts (every phone acked in {took:.1f}s)"
            first = outcome.windows[0]
            outcome.windows[0] = Window(first.name, first.start, (note,))
            return
        time.sleep(0.2)
    outcome.problems.append(f"not every phone had an ack within {timeout:.0f}s of starting")


@contextlib.contextmanager
def _running(
    phones: list[Phone],
    readers: list[Reader],
    stopping: threading.Event,
    config: RunConfig,
    outcome: Outcome,
) -> Iterator[None]:
    """Threads started now; on the way out (also on an error) told to stop and joined."""
    for thread in [*readers, *phones]:
        thread.start()
    try:
        yield
    finally:
        stopping.set()
        for reader in readers:
            reader.finishing.set()
        _join([*phones, *readers], config.ack_timeout + 5, outcome)


def _join(threads: list[Any], timeout: float, outcome: Outcome) -> None:
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    alive = [t.name for t in threads if t.is_alive()]
    if alive:
        outcome.problems.append(f"threads still running after {timeout:.0f}s: {alive}")


def _stale_connections(cluster: Cluster, users: list[str]) -> dict[str, list[str]]:
    """G7: connection ids still registered for the users, once every socket has closed."""
    time.sleep(G7_GRACE)
    deadline = time.monotonic() + G7_PATIENCE - G7_GRACE
    while True:
        client = cluster.redis()
        found = {}
        for user in users:
            # Positive scores are registered connections; negative ones are tombstones (a
            # connection that said goodbye, kept so a late frame does not bring it back).
            raw = client.zrangebyscore(redis_keys.user_connections(user), 0, "+inf")
            ids = sorted(c.decode() if isinstance(c, bytes) else str(c) for c in raw)
            if ids:
                found[user] = ids
        client.close()
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def _highest_seqs(uri: str, rooms: list[str]) -> dict[str, int]:
    return {
        room: max((int(d["seq"]) for d in docs), default=0)
        for room, docs in _by_room(_stored_messages(uri, rooms)).items()
    }


def _by_room(docs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    rooms: dict[str, list[dict[str, Any]]] = {}
    for d in docs:
        rooms.setdefault(str(d["roomId"]), []).append(d)
    return rooms


def _stored_messages(uri: str, rooms: list[str]) -> list[dict[str, Any]]:
    client: MongoClient[dict[str, Any]] = MongoClient(uri, serverSelectionTimeoutMS=10000)
    try:
        return list(client.get_default_database().messages.find({"roomId": {"$in": rooms}}))
    finally:
        client.close()


def _report(config: RunConfig, outcome: Outcome, elapsed: float) -> str:
    backoff = config.backoff
    parameters = (
        f"Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC{' (--bounded)' if config.bounded else ''}, "
        f"{elapsed:.0f} s in all: {config.phones} phones in {config.rooms} group rooms (every "
        f"phone in every room), a message every {config.pace:g} s per phone, resent with the "
        f"same clientMsgId on unavailable/internal_error/{config.ack_timeout:g} s without an "
        f"answer/a dropped socket, given up after {config.give_up_after:g} s or "
        f"{config.max_tries} sends; faults {', '.join(config.faults)}, "
        f"{config.duration_per_fault:g} s each then {config.quiet:g} s quiet, "
        f"{config.baseline:g} s baseline. Persist mappings: the template's settings, local "
        f"retry backoff {backoff.initial:g} s doubling to {backoff.cap:g} s."
    )
    if outcome.findings is None:
        return "\n".join(
            ["## Fault injection", "", parameters, "", "The run failed before the checks:", ""]
            + [f"- {p}" for p in outcome.problems]
        )
    return render(
        outcome.findings,
        outcome.windows,
        parameters,
        outcome.readers,
        outcome.dead_letters,
        outcome.problems,
    )
