"""Shared by the benchmarks: the local stack, timing with medians and spread, the report.

Every figure is a ratio to a baseline measured in the same run on the same machine; absolute
times are printed for context only.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from mayachat_local.config import StackConfig
from mayachat_local.stack import app_environment, function_environment, up

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def start_stack(*names: str) -> dict[str, str]:
    statuses = up(StackConfig.from_env(), list(names))
    endpoints = {s.name: s.endpoint for s in statuses}
    os.environ.update(app_environment(endpoints))
    wait_for_quiet()
    return endpoints


def wait_for_quiet(idle_share: float = 0.8, patience_s: float = 90.0) -> None:
    """Wait until the CPUs are mostly idle for two seconds running (the previous benchmark's
    processes wind down: a gateway closing 500 connections, workers exiting), at most
    `patience_s`. Linux only; elsewhere it returns at once."""
    stat = Path("/proc/stat")
    if not stat.exists():
        return

    def idle_and_total() -> tuple[int, int]:
        fields = [int(x) for x in stat.read_text().splitlines()[0].split()[1:]]
        return fields[3] + fields[4], sum(fields)  # idle + iowait, all

    deadline = time.monotonic() + patience_s
    quiet_seconds = 0
    while quiet_seconds < 2 and time.monotonic() < deadline:
        idle0, total0 = idle_and_total()
        time.sleep(1)
        idle1, total1 = idle_and_total()
        share = (idle1 - idle0) / max(1, total1 - total0)
        quiet_seconds = quiet_seconds + 1 if share >= idle_share else 0
    if quiet_seconds < 2:
        print(f"warning: the machine is busy ({1 - share:.0%} CPU); figures will be noisy")


@dataclass(frozen=True)
class Timing:
    samples: list[float]  # seconds

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]

    @property
    def p99(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]

    def ms(self) -> str:
        return f"{self.median * 1000:.2f} ms (p95 {self.p95 * 1000:.2f})"


def measure(call: Callable[[], object], repeat: int, warmup: int = 3) -> Timing:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return Timing(samples)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = cpu
    return (
        f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, commit {_commit()}"
    )


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def compile_tree(tree: Path) -> None:
    """Bytecode for the tree's core package and functions, as the layers ship them: a fresh
    worktree has none, and with PYTHONDONTWRITEBYTECODE each cold start would compile it."""
    for folder in ("layers/core", "functions"):
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(tree / folder)],
            check=True,
            capture_output=True,
        )


def route_functions(tree: Path = ROOT) -> list[str]:
    """The WebSocket route functions (the authorizer with them): functions/ws_*."""
    return sorted(p.name for p in (tree / "functions").iterdir() if p.name.startswith("ws_"))


@contextlib.contextmanager
def checkout(rev: str) -> Iterator[Path]:
    """A detached git worktree of an earlier commit, for before/after in the same run. Code
    there runs with PYTHONPATH=<tree>/layers/core, so its core package wins over ours."""
    tree = Path(tempfile.mkdtemp(prefix="mayachat-before-"))
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(tree), rev],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    try:
        yield tree
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(tree)],
            cwd=ROOT,
            check=False,
            capture_output=True,
        )


def function_env(endpoints: dict[str, str]) -> dict[str, str]:
    """The functions' environment for the benchmarks: the local stack, quiet logs, and a rate
    limit no benchmark reaches."""
    return {
        **function_environment(endpoints),
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "RATE_LIMIT_BURST": "100000",
        "RATE_LIMIT_PER_SECOND": "100000",
        "USER_RATE_LIMIT_BURST": "100000",  # per user too, across their connections
        "USER_RATE_LIMIT_PER_SECOND": "100000",
    }


@dataclass(frozen=True)
class GatewayProcess:
    url: str  # ws://host:port/stage
    management_endpoint: str  # http://host:port/stage (@connections)
    pid: int


@contextlib.contextmanager
def gateway_process(
    template: Path, env: dict[str, str], log: IO[str] | None = None
) -> Iterator[GatewayProcess]:
    """The local WebSocket gateway in a process of its own (`python -m mayachat_local.gateway`),
    as API Gateway is not in the phones' process: the benchmark's clients then do not share a
    GIL with it. With `log`, its INFO log (a REPORT line per invocation) goes there."""
    command = [sys.executable, "-m", "mayachat_local.gateway", "--template", str(template)]
    command += ["--port", "0", "--management-port", "0"]
    command += ["--log-level", "INFO" if log is not None else "WARNING"]
    command += [f"--env={key}={value}" for key, value in env.items()]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(2)]  # it prints when it listens
        if not all(line.split() for line in lines) or not lines[0].split()[-1].startswith("ws:"):
            raise RuntimeError(f"the gateway did not start (exit {process.poll()}): {lines}")
        url = lines[0].split()[-1]
        management = lines[1].split()[-1].removesuffix("/@connections/{connectionId}")
        yield GatewayProcess(url, management, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def start_gateways(
    stack: contextlib.ExitStack, env: dict[str, str], before: str | None
) -> dict[str, GatewayProcess]:
    """A local WebSocket gateway over our functions ("now") and, with `before`, another over
    that commit's functions ("before"), both running until `stack` closes."""
    trees = {"now": ROOT}
    if before:
        trees["before"] = stack.enter_context(checkout(before))
    return {
        label: stack.enter_context(
            gateway_process(
                tree / "template.yaml", {**env, "PYTHONPATH": str(tree / "layers" / "core")}
            )
        )
        for label, tree in trees.items()
    }


def load_handler(relative_path: str) -> Any:
    """A function's `handler`, its file imported by path as Lambda imports it (bench scripts
    do not import tests/, whose helper does the same)."""
    path = ROOT / relative_path
    spec = importlib.util.spec_from_file_location(f"bench_{path.parent.name}_app", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler


@dataclass(frozen=True)
class BenchLambdaContext:
    """What Powertools reads from Lambda's context object."""

    function_name: str
    aws_request_id: str = "bench-request"
    memory_limit_in_mb: int = 1024

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 15_000


def produce_and_wait(producer: Any, topic: str, key: bytes, value: bytes) -> None:
    """One raw confluent-kafka produce and its delivery report -- what sendMessage waits for
    before its ack: the baseline of the send and end-to-end benchmarks."""
    done = threading.Event()
    errors: list[Any] = []

    def delivered(error: Any, _msg: Any) -> None:
        if error is not None:
            errors.append(error)
        done.set()

    producer.produce(topic, key=key, value=value, on_delivery=delivered)
    while not done.is_set():
        producer.poll(0.1)  # returns as soon as the report is served
    if errors:
        raise RuntimeError(f"raw produce failed: {errors[0]}")


def send_message_frame(room_id: str, client_msg_id: str, text: str = "bench") -> str:
    return json.dumps(
        {
            "action": "sendMessage",
            "roomId": room_id,
            "clientMsgId": client_msg_id,
            "content": {"type": "text", "text": text},
        }
    )


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def write_samples(name: str, samples: dict[str, list[float]]) -> None:
    """bench/results/NAME.json: the raw seconds behind a section, for bench/plots.py."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(samples, separators=(",", ":")) + "\n")


def write_section(name: str, markdown: str) -> None:
    """bench/results/NAME.md; `make bench` joins them into docs/benchmarks.md."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.md").write_text(markdown.rstrip() + "\n")
    print(markdown)
