"""A session on a quiet system (issue 18): what a user feels when no worker is warm. One phone
(alice) through the local API Gateway and the template's functions: `$connect` (the JWT
authorizer + the connect function), the first `sendMessage` (until its ack), `typing` and
`markRead` (until the room's other member, bob, gets the typing and receipt frames: nothing
comes back to the sender), `sync` (until its final frame). Each route is its own function, so
a COLD session starts a worker for every one of them: it runs on a fresh gateway process (no
worker at all). The same session WARM (every worker already running) in the same run, taking
turns with the cold ones; with --before REV the same at an earlier commit (a git worktree),
for before/after. Median per step and of the total, the cold starts per session, and per
function its init and first invocation (the gateway's REPORT lines).

    .venv/bin/python bench/bench_cold_session.py [--runs 5] [--before REV]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import (
    ROOT,
    GatewayProcess,
    checkout,
    compile_tree,
    function_env,
    gateway_process,
    machine,
    send_message_frame,
    start_stack,
    wait_for_quiet,
    write_samples,
    write_section,
)
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from mayachat_local.devtools.devauth import mint
from mayachat_local.devtools.rooms import create_room

STEPS = ["$connect", "sendMessage", "typing", "markRead", "sync"]
TIMEOUT_S = 60.0  # a frame's wait; a cold worker's init is capped at 10 s by the runtime
# The runtime's line per invocation (mayachat_local.runtime.lambda_runtime.FunctionPool._report).
REPORT = re.compile(
    r"\[(?P<function>\w+)\] REPORT RequestId: \S+ Duration: (?P<duration>[\d.]+) ms "
    r"Memory Size: \d+ MB(?: Init Duration: (?P<init>[\d.]+) ms)? Route: (?P<route>.+?) Outcome:"
)


@dataclass(frozen=True)
class Invocation:
    function: str  # logical id
    route: str
    duration_ms: float
    init_ms: float | None  # only on a worker's first invocation: its cold start


class GatewayLog:
    """The gateway's INFO log, in a file; `new()` parses the REPORT lines written since."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def new(self) -> list[Invocation]:
        with self.path.open("rb") as log:
            log.seek(self.offset)
            text = log.read()
        text = text[: text.rfind(b"\n") + 1]  # a line still being written: the next time
        self.offset += len(text)
        found = (REPORT.search(line) for line in text.decode(errors="replace").splitlines())
        return [
            Invocation(
                m["function"],
                m["route"],
                float(m["duration"]),
                float(m["init"]) if m["init"] else None,
            )
            for m in found
            if m is not None
        ]


@dataclass(frozen=True)
class Gateway:
    process: GatewayProcess
    log: GatewayLog


@dataclass
class Session:
    seconds: dict[str, float] = field(default_factory=dict)  # step -> wall time
    started: dict[str, list[str]] = field(default_factory=dict)  # step -> functions cold-started
    invocations: list[Invocation] = field(default_factory=list)  # $disconnect's left out

    def first_invocations(self) -> dict[str, Invocation]:
        """Per function, its first invocation in the session (alice's, before bob's)."""
        first: dict[str, Invocation] = {}
        for invocation in self.invocations:
            first.setdefault(invocation.function, invocation)
        return first

    @property
    def total(self) -> float:
        return sum(self.seconds[step] for step in STEPS)

    @property
    def cold_starts(self) -> list[str]:
        return [fn for fns in self.started.values() for fn in fns]


def worker_functions(gateway_pid: int) -> dict[int, str]:
    """The gateway's worker processes, pid -> function directory (ws_connect, ...): each is
    `python -u lambda_worker.py CODE_URI HANDLER`, a child of the gateway (Linux /proc)."""
    workers = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if parent != gateway_pid:
                continue
            argv = stat.with_name("cmdline").read_bytes().decode().split("\0")
            script = next(i for i, arg in enumerate(argv) if arg.endswith("lambda_worker.py"))
            workers[int(stat.parent.name)] = Path(argv[script + 1]).name
    return workers


def wait_for(
    ws: ClientConnection,
    wanted: Callable[[dict[str, Any]], bool],
    sender: ClientConnection | None = None,
) -> dict[str, Any]:
    """The first frame `wanted` accepts; other frames (the live message copy, ...) are
    skipped, an error frame is a failed session. When `ws` is the peer's, the `sender`'s
    socket is watched too: an error for the frame comes back there."""
    deadline = time.monotonic() + TIMEOUT_S
    while (left := deadline - time.monotonic()) > 0:
        frames = []
        with contextlib.suppress(TimeoutError):  # returns as soon as a frame is in
            frames.append(ws.recv(timeout=min(left, 0.05) if sender else left))
        with contextlib.suppress(TimeoutError):
            while sender is not None:
                frames.append(sender.recv(timeout=0))
        for frame in map(json.loads, frames):
            if frame.get("type") == "error":
                raise RuntimeError(f"the session got an error frame: {frame}")
            if wanted(frame):
                return dict(frame)
    raise TimeoutError(f"no frame as wanted in {TIMEOUT_S:.0f} s")


class SessionRun:
    """One session's steps on one gateway, each timed and its new workers noted."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway.process
        self.log = gateway.log
        self.session = Session()

    def step(self, name: str, action: Callable[[], Any]) -> Any:
        before = worker_functions(self.gateway.pid)
        started = time.perf_counter()
        try:
            result = action()
        except (RuntimeError, TimeoutError) as exc:  # what the functions answered tells why
            raise RuntimeError(f"{name}: {exc}; invocations: {self.log.new()}") from exc
        took = time.perf_counter() - started
        if name in STEPS:
            self.session.seconds[name] = took
        after = worker_functions(self.gateway.pid)
        self.session.started[name] = sorted(fn for pid, fn in after.items() if pid not in before)
        return result

    def socket(self, user: str) -> ClientConnection:
        return connect(f"{self.gateway.url}?token={mint(user)}", open_timeout=TIMEOUT_S)


def one_session(gateway: Gateway) -> Session:
    tag = uuid.uuid4().hex[:6]
    alice, bob = f"cold-alice-{tag}", f"cold-bob-{tag}"
    room = create_room([alice, bob])
    run = SessionRun(gateway)
    gateway.log.new()  # what came before is another session's
    with contextlib.ExitStack() as sockets:
        me = sockets.enter_context(run.step("$connect", lambda: run.socket(alice)))
        # bob connects after alice (the workers are then warm): he is who sees her typing
        # and read receipts, as nothing comes back to the sender. Not timed.
        peer = sockets.enter_context(run.step("watcher", lambda: run.socket(bob)))

        def send() -> int:
            cmid = f"first-{tag}"
            me.send(send_message_frame(room, cmid, "hello"))
            ack = wait_for(me, lambda f: f.get("type") == "ack" and f.get("clientMsgId") == cmid)
            return int(ack["seq"])

        def typing() -> None:
            me.send(json.dumps({"action": "typing", "roomId": room, "isTyping": True}))
            wait_for(peer, lambda f: f.get("type") == "typing" and f.get("userId") == alice, me)

        def mark_read() -> None:
            me.send(json.dumps({"action": "markRead", "roomId": room, "upToSeq": seq}))
            wait_for(peer, lambda f: f.get("type") == "receipt" and f.get("userId") == alice, me)

        def sync() -> None:
            me.send(json.dumps({"action": "sync", "roomId": room, "afterSeq": 0}))
            wait_for(me, lambda f: f.get("type") == "sync" and f.get("final") is True)

        seq = run.step("sendMessage", send)
        run.step("typing", typing)
        run.step("markRead", mark_read)
        run.step("sync", sync)
    time.sleep(0.5)  # $disconnect runs after the close: not part of the next session
    invocations = gateway.log.new()
    run.session.invocations = [i for i in invocations if i.route != "$disconnect"]
    return run.session


@contextlib.contextmanager
def gateway_for(tree: Path, env: dict[str, str]) -> Iterator[Gateway]:
    """A gateway over `tree`'s template and functions (its layers/core first on PYTHONPATH),
    its log in a temporary file."""
    env = {**env, "PYTHONPATH": str(tree / "layers" / "core")}
    with tempfile.TemporaryDirectory(prefix="mayachat-cold-session-") as tmp:
        path = Path(tmp) / "gateway.log"
        with path.open("a") as log, contextlib.ExitStack() as stack:
            try:
                process = stack.enter_context(gateway_process(tree / "template.yaml", env, log))
            except RuntimeError as exc:  # why it did not start is in its log
                raise RuntimeError(f"{exc}; its log:\n{path.read_text()[-4000:]}") from None
            yield Gateway(process, GatewayLog(path))


def cold_session(tree: Path, env: dict[str, str]) -> Session:
    """The session on a fresh gateway process: no worker of any function is running."""
    with gateway_for(tree, env) as gateway:
        warm_up_gateway_itself(gateway.process)
        if worker_functions(gateway.process.pid):
            raise RuntimeError("a fresh gateway already runs workers: the session is not cold")
        wait_for_quiet(patience_s=20)
        return one_session(gateway)


def warm_up_gateway_itself(gateway: GatewayProcess) -> None:
    """A handshake without a token is refused (401) before the authorizer is called: the
    gateway's own first-use code runs, as API Gateway's is always warm, and no worker starts."""
    with contextlib.suppress(InvalidStatus):
        connect(gateway.url, open_timeout=TIMEOUT_S).close()


def warm_session(gateway: Gateway) -> Session:
    wait_for_quiet(patience_s=20)
    return one_session(gateway)


@contextlib.contextmanager
def trees_of(before: str | None) -> Iterator[dict[str, Path]]:
    """Ours and, with `before`, that commit's worktree, each compiled."""
    with contextlib.ExitStack() as stack:
        trees = {"now": ROOT}
        if before:
            trees["before"] = stack.enter_context(checkout(before))
        for tree in trees.values():
            compile_tree(tree)
        yield trees


def measure(
    trees: dict[str, Path], env: dict[str, str], runs: int
) -> dict[tuple[str, str], list[Session]]:
    """(label, "cold" | "warm") -> sessions. Run by run, each tree takes its turn, its cold
    session then its warm one, so drift hits each alike."""
    sessions: dict[tuple[str, str], list[Session]] = {}
    with contextlib.ExitStack() as stack:
        warm = {label: stack.enter_context(gateway_for(tree, env)) for label, tree in trees.items()}
        for gateway in warm.values():
            one_session(gateway)  # not measured: starts every worker the session needs
        for run in range(runs):
            for label, tree in trees.items():
                got = {"cold": cold_session(tree, env), "warm": warm_session(warm[label])}
                for kind, session in got.items():
                    sessions.setdefault((label, kind), []).append(session)
                    print(f"run {run + 1} {label:>6} {kind}: {summary(session)}")
    return sessions


def summary(session: Session) -> str:
    steps = ", ".join(f"{step} {ms(session.seconds[step])}" for step in STEPS)
    return f"total {ms(session.total)}, {len(session.cold_starts)} cold starts: {steps}"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def median_of(sessions: list[Session], step: str) -> float:
    if step == "total":
        return statistics.median(s.total for s in sessions)
    return statistics.median(s.seconds[step] for s in sessions)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5, help="cold sessions (and warm ones)")
    parser.add_argument("--before", help="an earlier commit to compare with")
    args = parser.parse_args()
    endpoints = start_stack("kafka", "mongodb", "redis", "aws")
    env = function_env(endpoints)
    # Resolved once: HEAD moves while the others commit, and the report names what ran.
    args.before_commit = resolve(args.before) if args.before else None
    with trees_of(args.before_commit) as trees:
        sessions = measure(trees, env, args.runs)
    write_samples("cold_session", samples(sessions))
    report(sessions, args)


def resolve(rev: str) -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.strip()


def samples(sessions: dict[tuple[str, str], list[Session]]) -> dict[str, list[float]]:
    """bench/results/cold_session.json: "LABEL:KIND:STEP" -> seconds per session (STEP also
    "total"), "LABEL:KIND:cold_starts" -> worker starts per session, and per function its
    init and first invocation, ms."""
    out: dict[str, list[float]] = {}
    for (label, kind), got in sessions.items():
        for step in STEPS:
            out[f"{label}:{kind}:{step}"] = [s.seconds[step] for s in got]
        out[f"{label}:{kind}:total"] = [s.total for s in got]
        out[f"{label}:{kind}:cold_starts"] = [float(len(s.cold_starts)) for s in got]
        for s in got:  # ms, per function: "LABEL:KIND:init:FN" and "LABEL:KIND:first:FN"
            for fn, invocation in s.first_invocations().items():
                if invocation.init_ms is not None:
                    out.setdefault(f"{label}:{kind}:init:{fn}", []).append(invocation.init_ms)
                out.setdefault(f"{label}:{kind}:first:{fn}", []).append(invocation.duration_ms)
    return out


@dataclass(frozen=True)
class FunctionCost:
    """One function's medians, ms: init and first invocation in the cold sessions, its
    (first) invocation in the warm ones."""

    function: str
    route: str
    init: float
    first: float
    warm: float

    @property
    def extra(self) -> float:
        return self.init + self.first - self.warm


def function_costs(cold: list[Session], warm: list[Session]) -> list[FunctionCost]:
    """Per function, biggest cold cost first."""
    cold_firsts = [s.first_invocations() for s in cold]
    warm_firsts = [s.first_invocations() for s in warm]
    costs = []
    for fn in sorted({fn for firsts in cold_firsts for fn in firsts}):
        seen = [firsts[fn] for firsts in cold_firsts if fn in firsts]
        costs.append(
            FunctionCost(
                fn,
                seen[0].route,
                statistics.median(i.init_ms or 0.0 for i in seen),
                statistics.median(i.duration_ms for i in seen),
                statistics.median(f[fn].duration_ms for f in warm_firsts if fn in f),
            )
        )
    return sorted(costs, key=lambda cost: -cost.extra)


def started_in(sessions: list[Session], step: str) -> str:
    """The functions a step cold-started, each with how many of the sessions it did."""
    counts = Counter(fn for s in sessions for fn in s.started.get(step, []))
    if not counts:
        return "-"
    runs = len(sessions)
    return ", ".join(
        f"`{fn}`" + ("" if n == runs else f" ({n}/{runs})") for fn, n in counts.items()
    )


def report(sessions: dict[tuple[str, str], list[Session]], args: argparse.Namespace) -> None:
    cold, warm = sessions[("now", "cold")], sessions[("now", "warm")]
    before = args.before is not None
    extra = {step: median_of(cold, step) - median_of(warm, step) for step in STEPS}
    header = "| step | functions cold-started | cold p50 | warm p50 | cold / warm | cold - warm |"
    rule = "|---|---|---:|---:|---:|---:|"
    if before:
        header += f" before ({args.before}) cold | before warm | now / before (cold) |"
        rule += "---:|---:|---:|"
    starts = statistics.median(len(s.cold_starts) for s in cold)
    lines = []
    for step in [*STEPS, "total"]:
        c, w = median_of(cold, step), median_of(warm, step)
        name = f"`{step}`" if step != "total" else "**total** (connect -> sync final)"
        where = started_in(cold, step) if step != "total" else f"{starts:g} per session"
        row = f"| {name} | {where} | {ms(c)} | {ms(w)} | {c / w:.1f}x | {ms(c - w)} |"
        if before:
            old_c = median_of(sessions[("before", "cold")], step)
            old_w = median_of(sessions[("before", "warm")], step)
            row += f" {ms(old_c)} | {ms(old_w)} | {c / old_c:.2f}x |"
        lines.append(row)
    counts = Counter(len(s.cold_starts) for s in cold)
    warm_starts = sum(len(s.cold_starts) for s in warm)
    biggest = max(STEPS, key=lambda step: extra[step])
    total_c, total_w = median_of(cold, "total"), median_of(warm, "total")
    before_option = f" --before {args.before}" if before else ""
    before_commit = f"; before: `{args.before}` = {args.before_commit}" if before else ""
    costs = function_costs(cold, warm)
    cost_lines = [
        f"| `{c.function}` | `{c.route}` | {c.init:.0f} ms | {c.first:.0f} ms | {c.warm:.1f} ms "
        f"| {c.extra:.0f} ms |"
        for c in costs
    ]
    inits = sum(c.init for c in costs)
    firsts = sum(c.first - c.warm for c in costs)
    rest = (total_c - total_w) * 1000 - inits - firsts
    write_section(
        "cold_session",
        f"""## Cold session (issue 18)

`.venv/bin/python bench/bench_cold_session.py --runs {args.runs}{before_option}` on
{machine()}. One phone's session through the local API Gateway (template.yaml's routes, one
function each): `$connect` (the JWT authorizer, then the connect function; until the 101),
the first `sendMessage` (until its ack), `typing` and `markRead` (until the room's other
member gets the `typing` and `receipt` frames, as nothing comes back to the sender), `sync`
(until its final frame). The other member connects right after `$connect`, not timed (the
workers it needs are warm by then). COLD: each session on a fresh gateway process, so every
function's worker starts in the session (the gateway's own code is warmed first by a refused
handshake, as API Gateway's is always warm); WARM: the same session on a gateway whose workers
all run, in the same run, taking turns with the cold ones{before_commit}. Median of
{args.runs} each; the
total is the sum of the five steps. Cold starts counted as the gateway's new worker processes
during each step.

{header}
{rule}
{chr(10).join(lines)}

Cold starts per cold session: {", ".join(f"{n} ({k} of {len(cold)})" for n, k in counts.items())};
per warm session: {warm_starts / len(warm):.0f}. Every route a session touches is its own
function, so each is a cold start of its own (an interpreter, the imports, the clients: see
the cold start section above); merging frame routes into fewer functions would start fewer.

Per function, from the gateway's REPORT lines (medians, this commit): its init (the worker
process from its start to ready: the interpreter, the handler file's imports and clients), its
first invocation in the cold session (first connections to Redis, Kafka, MongoDB, the
@connections signer...), and its invocation in the warm one:

| function | route | init | first invocation (cold) | invocation (warm) | init + first - warm |
|---|---|---:|---:|---:|---:|
{chr(10).join(cost_lines)}

Of a cold session's {ms(total_c - total_w)} over warm, the inits are **{inits:.0f} ms** and
the first invocations' extra over warm **{firsts:.0f} ms** (the rest, {rest:.0f} ms, is noise
and the steps' overlap with the REPORT lines).

Verdict: a session on a quiet system takes **{ms(total_c)}** to its final sync frame against
{ms(total_w)} warm (**{total_c / total_w:.0f}x**), {starts:g} cold starts;
the biggest cold step is `{biggest}` (+{ms(extra[biggest])} over warm), the biggest single
function `{costs[0].function}` (+{costs[0].extra:.0f} ms: init {costs[0].init:.0f}, first
invocation {costs[0].first:.0f}).
""",
    )


if __name__ == "__main__":
    main()
