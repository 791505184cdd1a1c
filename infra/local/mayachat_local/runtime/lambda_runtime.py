"""Lambda-like execution of handler files: per function, a pool of worker processes
("containers") that import the handler once and serve one invocation at a time. Shared by the
local emulators that invoke functions (the WebSocket gateway, the MSK event-source mapping).

A pool grows on demand up to its cap and reuses warm workers; an invocation that overruns the
function's timeout kills its worker (the next invocation starts a fresh one). `reload()` retires
the warm workers so a changed handler file is imported again (hot reload hooks in here).

Process-wide, as a laptop needs and AWS does not: workers start about one per core at a time
(InitGate), idle ones are kept within a memory budget (WarmBudget), and a function's reserved
concurrency throttles as Lambda's does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mayachat_local.runtime import capacity
from mayachat_local.runtime.logview import describe_event, outcome_of
from mayachat_local.runtime.template import FunctionSpec

log = logging.getLogger("mayachat_local.lambda")

WORKER_SCRIPT = Path(__file__).with_name("lambda_worker.py")
# Lambda's own caps: 6 MB synchronous payloads; pipes must carry at least that per line.
_STREAM_LIMIT = 64 * 1024 * 1024
_EVENT_LOG_CHARS = 4000


class FunctionError(Exception):
    """An invocation failed: the handler raised, timed out, or its worker could not start.
    Carries the fields of Lambda's error payload."""

    def __init__(
        self,
        function: str,
        error_type: str,
        message: str,
        stack_trace: list[str] | None = None,
        request_id: str = "",
    ) -> None:
        super().__init__(f"{function}: {error_type}: {message}")
        self.function = function
        self.error_type = error_type
        self.error_message = message
        self.stack_trace = stack_trace or []
        self.request_id = request_id

    @classmethod
    def from_payload(
        cls, function: str, payload: Mapping[str, Any], request_id: str = ""
    ) -> FunctionError:
        return cls(
            function,
            str(payload.get("errorType", "Error")),
            str(payload.get("errorMessage", "")),
            [str(line) for line in payload.get("stackTrace") or []],
            request_id,
        )

    @property
    def timed_out(self) -> bool:
        return self.error_type == "Sandbox.Timedout"


class Worker:
    """One worker process for one function."""

    def __init__(self, spec: FunctionSpec, env: Mapping[str, str], generation: int) -> None:
        self.spec = spec
        self.generation = generation
        self.pid: int | None = None
        self.init_duration_ms: float | None = None  # reported once, with the first invocation
        self._env = dict(env)
        self._proc: asyncio.subprocess.Process | None = None
        self._log_task: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def start(self, init_timeout: float) -> None:
        stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        started = time.monotonic()
        self._proc = proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-u",
            str(WORKER_SCRIPT),
            str(self.spec.code_uri),
            self.spec.handler,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**self._env, "AWS_LAMBDA_LOG_STREAM_NAME": stream},
            cwd=self.spec.code_uri,
            limit=_STREAM_LIMIT,
            # Out of the terminal's process group: Ctrl-C reaches the emulator, which then
            # retires its workers; a dead emulator's workers exit on EOF of their stdin.
            start_new_session=True,
        )
        self.pid = proc.pid
        self._log_task = asyncio.create_task(self._pump_logs())
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), init_timeout)
        except TimeoutError:
            await self.kill()
            raise FunctionError(
                self.spec.name,
                "Runtime.InitTimeout",
                f"Init phase timed out after {init_timeout:.2f} seconds",
            ) from None
        message = json.loads(line) if line else {}
        if message.get("type") != "ready":
            await self.kill()
            error = message.get("error") or {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"Runtime exited with error: exit status {proc.returncode}",
            }
            raise FunctionError.from_payload(self.spec.name, error)
        self.init_duration_ms = (time.monotonic() - started) * 1000

    async def invoke(self, event: Any, request_id: str, timeout: float) -> Any:
        proc = self._proc
        assert proc is not None
        assert proc.stdin is not None
        assert proc.stdout is not None
        request = {
            "requestId": request_id,
            "event": event,
            "deadlineMs": int((time.time() + timeout) * 1000),
            "traceId": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
        }
        line = b""
        try:
            async with asyncio.timeout(timeout):
                proc.stdin.write(json.dumps(request).encode() + b"\n")
                await proc.stdin.drain()
                line = await proc.stdout.readline()
        except TimeoutError:
            await self.kill()
            raise FunctionError(
                self.spec.name,
                "Sandbox.Timedout",
                f"Task timed out after {timeout:.2f} seconds",
                request_id=request_id,
            ) from None
        except (BrokenPipeError, ConnectionResetError):
            pass  # the worker died: reported below like an exit
        except asyncio.CancelledError:
            # Nobody waits for this answer any more, and the worker is mid-call: discard it.
            await self.kill()
            raise
        if not line:
            code = await proc.wait()
            raise FunctionError(
                self.spec.name,
                "Runtime.ExitError",
                f"RequestId: {request_id} Error: Runtime exited with error: exit status {code}",
                request_id=request_id,
            )
        reply = json.loads(line)
        if "error" in reply:
            raise FunctionError.from_payload(self.spec.name, reply["error"], request_id)
        return reply.get("result")

    async def kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        if self._log_task is not None:
            await self._log_task

    async def retire(self, grace: float = 2.0) -> None:
        """Let the worker finish: EOF on stdin ends its loop; kill it if it lingers."""
        proc = self._proc
        if proc is not None and proc.returncode is None and proc.stdin is not None:
            proc.stdin.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), grace)
        await self.kill()

    async def _pump_logs(self) -> None:
        proc = self._proc
        assert proc is not None
        assert proc.stderr is not None
        while True:
            try:
                line = await proc.stderr.readline()
            except ValueError:  # a line longer than the limit: take it in pieces
                line = await proc.stderr.read(_STREAM_LIMIT)
            if not line:
                return
            text = line.decode(errors="replace").rstrip("\r\n")
            # The fields ride along for the console view (mayachat_local.runtime.logview).
            log.info(
                "[%s] %s", self.spec.name, text, extra={"function": self.spec.name, "output": text}
            )


class FunctionPool:
    """The containers of one function."""

    def __init__(
        self,
        spec: FunctionSpec,
        env: Mapping[str, str],
        *,
        max_workers: int = 10,
        init_timeout: float = 10.0,
    ) -> None:
        self.spec = spec
        self._env = dict(env)
        self._init_timeout = init_timeout
        self._slots = asyncio.Semaphore(max_workers)
        self._idle: list[Worker] = []
        self._workers: set[Worker] = set()
        self._generation = 0
        self._closed = False
        self._background: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None  # its emulator's, at first use
        self._in_flight = 0  # admitted invocations, waiting for a worker or running

    @property
    def worker_pids(self) -> list[int]:
        return [w.pid for w in self._workers if w.pid is not None and w.alive]

    async def invoke(self, event: Any, request_id: str | None = None) -> Any:
        request_id = request_id or str(uuid.uuid4())
        self._loop = asyncio.get_running_loop()
        reserved = self.spec.reserved_concurrency
        if reserved is not None and self._in_flight >= reserved:
            # As Lambda does at the function's reserved concurrency: refused, not queued.
            raise FunctionError(
                self.spec.name,
                capacity.THROTTLED,
                f"Rate Exceeded. (reserved concurrency {reserved} reached)",
                request_id=request_id,
            )
        self._in_flight += 1
        try:
            return await self._admitted(event, request_id)
        finally:
            self._in_flight -= 1

    async def _admitted(self, event: Any, request_id: str) -> Any:
        # Over the cap, invocations wait for a free container (Lambda would throttle).
        async with self._slots:
            if self._closed:
                raise FunctionError(self.spec.name, "Runtime.Shutdown", "the runtime is stopping")
            worker = self._take_warm() or await self._warm_or_new()
            log.debug("[%s] START RequestId: %s", self.spec.name, request_id)
            started = time.monotonic()
            outcome = "error"
            try:
                result = await worker.invoke(event, request_id, self.spec.timeout)
                outcome = outcome_of(result)
                return result
            except FunctionError as exc:
                outcome = exc.error_type
                raise
            finally:
                self._report(worker, request_id, started, describe_event(event), outcome)
                self._release(worker)

    def reload(self) -> None:
        """Retire the warm workers; busy ones retire when their invocation ends."""
        self._generation += 1
        idle, self._idle = self._idle, []
        for worker in idle:
            capacity.WARM_BUDGET.taken(worker)
            self._retire(worker)

    async def close(self) -> None:
        self._closed = True
        self._generation += 1
        for worker in self._idle:
            capacity.WARM_BUDGET.taken(worker)
        self._idle.clear()
        workers = list(self._workers)
        self._workers.clear()
        await asyncio.gather(*(w.kill() for w in workers), *self._background)

    def _take_warm(self) -> Worker | None:
        while self._idle:
            worker = self._idle.pop()  # the most recently used: warmest caches
            capacity.WARM_BUDGET.taken(worker)
            if worker.alive:
                return worker
            self._workers.discard(worker)
        return None

    async def _warm_or_new(self) -> Worker:
        """A new worker when its turn to start comes, or one of ours that fell idle while
        this invocation waited for the turn (then no cold start is needed at all)."""
        while True:
            if capacity.INIT_GATE.try_enter():
                try:
                    return self._take_warm() or await self._start_worker()
                finally:
                    capacity.INIT_GATE.leave()
            warm = self._take_warm()
            if warm is not None:
                return warm
            if self._closed:
                raise FunctionError(self.spec.name, "Runtime.Shutdown", "the runtime is stopping")
            await asyncio.sleep(capacity.TURN_POLL_SECONDS)

    async def _start_worker(self) -> Worker:
        worker = Worker(self.spec, self._env, self._generation)
        self._workers.add(worker)
        try:
            await worker.start(self._init_timeout)
        except BaseException:
            self._workers.discard(worker)
            await worker.kill()
            raise
        return worker

    def _release(self, worker: Worker) -> None:
        if worker.alive and worker.generation == self._generation and not self._closed:
            self._idle.append(worker)
            for old, pool in capacity.WARM_BUDGET.parked(worker, self):
                pool.evict(old)
        else:
            self._retire(worker)

    def evict(self, worker: Worker) -> None:
        """Retire an idle worker the warm budget gave up (from any emulator's thread)."""
        if self._loop is None or self._loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._evict_now(worker)
        else:
            self._loop.call_soon_threadsafe(self._evict_now, worker)

    def _evict_now(self, worker: Worker) -> None:
        if worker in self._idle:
            self._idle.remove(worker)
            log.info(
                "[%s] retired a warm worker (pid %s): the least recently used of %d",
                self.spec.name,
                worker.pid,
                capacity.WARM_BUDGET.limit,
            )
            self._retire(worker)

    def _retire(self, worker: Worker) -> None:
        self._workers.discard(worker)
        task = asyncio.create_task(worker.retire())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _report(
        self, worker: Worker, request_id: str, started: float, route: str, outcome: str
    ) -> None:
        duration = (time.monotonic() - started) * 1000
        init = ""
        init_ms = worker.init_duration_ms
        if init_ms is not None:
            init = f" Init Duration: {init_ms:.2f} ms"
            worker.init_duration_ms = None
        log.info(
            "[%s] REPORT RequestId: %s Duration: %.2f ms Memory Size: %d MB%s "
            "Route: %s Outcome: %s",
            self.spec.name,
            request_id,
            duration,
            self.spec.memory_size,
            init,
            route,
            outcome,
            # The fields ride along for the console view (mayachat_local.runtime.logview).
            extra={
                "function": self.spec.name,
                "route": route,
                "duration_ms": duration,
                "outcome": outcome,
                "init_ms": init_ms,
            },
        )


class LambdaRuntime:
    """Every function an emulator may invoke, by logical id."""

    def __init__(
        self,
        functions: Mapping[str, FunctionSpec],
        environments: Mapping[str, Mapping[str, str]],
        *,
        max_workers: int = 10,
        init_timeout: float = 10.0,
    ) -> None:
        self.functions = dict(functions)
        self._pools = {
            name: FunctionPool(
                spec, environments[name], max_workers=max_workers, init_timeout=init_timeout
            )
            for name, spec in functions.items()
        }

    def pool(self, function: str) -> FunctionPool:
        return self._pools[function]

    async def invoke(
        self, function: str, event: Any, *, log_errors: bool = True, request_id: str | None = None
    ) -> Any:
        """The handler's return value; FunctionError when it raised, timed out or crashed.
        `request_id` (default: a fresh one) is the invocation's aws_request_id."""
        try:
            return await self._pools[function].invoke(event, request_id)
        except FunctionError as exc:
            if exc.error_type == capacity.THROTTLED:
                # Capacity, not a crash: one line, no event dump.
                log.warning("[%s] THROTTLED: %s", function, exc.error_message)
            elif log_errors:
                log_failure(exc, event)
            raise

    def reload(self, function: str | None = None) -> None:
        for name, pool in self._pools.items():
            if function is None or name == function:
                pool.reload()

    async def close(self) -> None:
        await asyncio.gather(*(pool.close() for pool in self._pools.values()))


def log_failure(exc: FunctionError, event: Any, level: int = logging.ERROR) -> None:
    text = json.dumps(event, default=str)
    if len(text) > _EVENT_LOG_CHARS:
        text = text[:_EVENT_LOG_CHARS] + "...(truncated)"
    trace = "".join(exc.stack_trace).rstrip()
    log.log(
        level,
        "[%s] invocation %s failed: %s: %s%s\n  event: %s",
        exc.function,
        exc.request_id or "-",
        exc.error_type,
        exc.error_message,
        f"\n{trace}" if trace else "",
        text,
    )
