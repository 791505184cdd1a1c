"""How much of the machine the local runtime takes, process-wide: how many workers start at
once, how many idle ones stay warm, and the throttle at a function's reserved concurrency."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mayachat_local.runtime.lambda_runtime import FunctionPool, Worker


class InitGate:
    """How many workers may be starting (importing) at once in this process, across every
    function and emulator: about one per core. In AWS each cold start has CPU of its own;
    here ninety Python imports at once on two cores would each take ten times longer and hit
    the init timeout. A worker's init timeout starts when its turn does, so waiting is never
    mistaken for a slow init. Thread-safe: each emulator runs its own event loop."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._free = threading.Semaphore(limit)

    def try_enter(self) -> bool:
        return self._free.acquire(blocking=False)

    def leave(self) -> None:
        self._free.release()


def _init_limit() -> int:
    raw = os.environ.get("MAYACHAT_CONCURRENT_INITS")
    return max(1, int(raw)) if raw and raw.isdigit() else max(1, os.cpu_count() or 1)


INIT_GATE = InitGate(_init_limit())
THROTTLED = "TooManyRequestsException"  # Lambda's error for a throttled invocation

# What one warm worker costs in memory, about (a route function's resident set here is
# 60-90 MB): the default budget keeps warm workers within a quarter of the machine's memory.
WORKER_MB = 100


class WarmBudget:
    """At most `limit` idle (warm) workers in the process, across every function: past it,
    the least recently used one is retired, whichever function it serves, so `make dev`
    stays light on a laptop however many functions a session touched. Thread-safe."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._idle: OrderedDict[Worker, FunctionPool] = OrderedDict()

    def parked(self, worker: Worker, pool: FunctionPool) -> list[tuple[Worker, FunctionPool]]:
        """`worker` fell idle; the idle workers to retire now (oldest first)."""
        with self._lock:
            self._idle[worker] = pool
            self._idle.move_to_end(worker)
            evicted = []
            while len(self._idle) > self.limit:
                evicted.append(self._idle.popitem(last=False))
            return evicted

    def taken(self, worker: Worker) -> None:
        with self._lock:
            self._idle.pop(worker, None)


def _warm_limit() -> int:
    raw = os.environ.get("MAYACHAT_MAX_WARM_WORKERS")
    if raw and raw.isdigit():
        return max(1, int(raw))
    try:
        total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    except (ValueError, OSError):
        total_mb = 4096
    return max(4, total_mb // 4 // WORKER_MB)


WARM_BUDGET = WarmBudget(_warm_limit())
TURN_POLL_SECONDS = 0.05  # few waiters: each function caps its own (max_workers)
