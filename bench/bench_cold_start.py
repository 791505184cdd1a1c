"""Cold start of each function: a fresh interpreter imports the handler file (module import
plus client construction, as Lambda's init phase does), median of N runs, against in the
same run: a naive handler that imports and builds boto3, pymongo, redis and confluent-kafka
at the top (target: route functions at most 0.5x of it), a bare interpreter, and -- with
--before REV -- the same functions at an earlier commit (a git worktree), for before/after.

    .venv/bin/python bench/bench_cold_start.py [--runs 20] [--before REV]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import (
    ROOT,
    checkout,
    compile_tree,
    machine,
    route_functions,
    start_stack,
    write_section,
)

from mayachat_local.stack import function_environment

PROBE = """
import sys, time
started = time.perf_counter()
sys.path.insert(0, sys.argv[1])
import app
print(time.perf_counter() - started)
"""
ROUTES = route_functions()
OTHERS = ["persist", "rest_api"]


def run(trees: dict[str, tuple[Path, dict[str, str]]], runs: int) -> dict[str, tuple[float, float]]:
    """Per tree (label -> code_uri, env): medians of (import seconds measured inside, whole
    process seconds). The trees take turns run by run, so drift hits each alike."""
    inside: dict[str, list[float]] = {label: [] for label in trees}
    whole: dict[str, list[float]] = {label: [] for label in trees}
    for _ in range(runs):
        for label, (code_uri, env) in trees.items():
            started = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", PROBE, str(code_uri)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                cwd=code_uri,
            )
            whole[label].append(time.perf_counter() - started)
            inside[label].append(float(out.stdout.strip().splitlines()[-1]))
    return {
        label: (statistics.median(inside[label]), statistics.median(whole[label]))
        for label in trees
    }


# The packages import costs are named by (their top-level names).
NAMED = (
    "redis",
    "pydantic",
    "aws_lambda_powertools",
    "botocore",
    "boto3",
    "confluent_kafka",
    "pymongo",
    "jwt",
    "fastapi",
    "mangum",
)


def import_costs(code_uri: Path, env: dict[str, str], runs: int = 5) -> dict[str, float]:
    """Seconds each named package costs the handler file's import (`python -X importtime`):
    for a package, the cumulative time where it is first imported, so what it pulls in (the
    standard library, its dependencies) counts for it, overlaps included; for "our code" the
    own time of mayachat's modules. Medians of `runs` fresh interpreters."""
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", PROBE, str(code_uri)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=code_uri,
        )
        for group, seconds in _attribute(out.stderr).items():
            samples.setdefault(group, []).append(seconds)
    return {group: statistics.median(values) for group, values in samples.items()}


def _attribute(importtime: str) -> dict[str, float]:
    rows = []
    for line in importtime.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
            depth = (len(name) - len(name.lstrip(" "))) // 2
            rows.append((int(self_us) / 1e6, int(cumulative_us) / 1e6, depth, name.strip()))
    totals: dict[str, float] = {}
    ancestors: list[tuple[int, str | None]] = []
    for own, cumulative, depth, module in reversed(rows):  # parents come after children
        while ancestors and ancestors[-1][0] >= depth:
            ancestors.pop()
        top = module.split(".")[0]
        group = top if top in NAMED else None
        if top == "mayachat":
            totals["our code"] = totals.get("our code", 0.0) + own
        elif group is not None and group not in {g for _, g in ancestors}:
            totals[group] = totals.get(group, 0.0) + cumulative
        ancestors.append((depth, group))
    return totals


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--before", help="an earlier commit to compare with")
    args = parser.parse_args()
    endpoints = start_stack("kafka", "mongodb", "redis", "aws")
    env = {
        **os.environ,
        **function_environment(endpoints),
        "WEBSOCKET_MANAGEMENT_ENDPOINT": "http://127.0.0.1:9/local",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }

    bare = statistics.median(
        _time(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True))
        for _ in range(args.runs)
    )
    with contextlib.ExitStack() as stack:
        trees = {"now": ROOT}
        if args.before:
            trees["before"] = stack.enter_context(checkout(args.before))
        for tree in trees.values():  # as the layers ship it since issue 18: compiled
            compile_tree(tree)
        source_only = measure_source_only(stack, env, args.runs)
        results: dict[str, dict[str, tuple[float, float]]] = {"naive": {}}
        results.update({label: {} for label in trees})
        for fn in ROUTES + OTHERS:
            # The naive handler takes its turn beside each function: each ratio compares runs
            # made at the same time.
            rotation = {
                label: (
                    tree / "functions" / fn,
                    {**env, "PYTHONPATH": str(tree / "layers" / "core")},
                )
                for label, tree in trees.items()
            }
            rotation["naive"] = (ROOT / "bench" / "naive", env)
            medians = run(rotation, args.runs)
            for label, median in medians.items():
                results[label][fn] = median

    lines = []
    for fn in ROUTES + OTHERS:
        now_in, now_whole = results["now"][fn]
        row = f"| `{fn}` | {now_in * 1000:.0f} ms | {now_in / results['naive'][fn][0]:.2f}x |"
        if "before" in results:
            before_in = results["before"][fn][0]
            row += f" {before_in * 1000:.0f} ms | {now_in / before_in:.2f}x |"
        lines.append(row + f" {now_whole * 1000:.0f} ms |")
    header = "| function | init (import + clients) | vs naive |"
    rule = "|---|---:|---:|"
    if "before" in results:
        header += f" before ({args.before}) | now / before |"
        rule += "---:|---:|"
    header += " whole process |"
    rule += "---:|"
    met = [fn for fn in ROUTES if results["now"][fn][0] <= 0.5 * results["naive"][fn][0]]
    naive = (
        statistics.median(init for init, _ in results["naive"].values()),
        statistics.median(whole for _, whole in results["naive"].values()),
    )
    before_option = f" --before {args.before}" if args.before else ""
    costs = {fn: import_costs(ROOT / "functions" / fn, env) for fn in ROUTES}
    total = {g: sum(c.get(g, 0.0) for c in costs.values()) for c in costs.values() for g in c}
    groups = sorted(total, key=lambda g: -total[g])
    cost_lines = [
        f"| `{fn}` | " + " | ".join(f"{costs[fn].get(g, 0) * 1000:.0f}" for g in groups) + " |"
        for fn in ROUTES
    ]
    write_section(
        "cold_start",
        f"""## Cold start (issues 8, 18)

`.venv/bin/python bench/bench_cold_start.py --runs {args.runs}{before_option}` on
{machine()}. Each run is a fresh
interpreter importing the handler file with the local stack's environment (clients are
built, nothing is sent -- except that persist and rest_api ensure MongoDB's indexes at init,
a round trip per index), median of {args.runs}; the commits and the naive handler take turns
run by run. Baselines in the same run: the naive handler (`bench/naive/app.py`: boto3,
pymongo, redis, confluent-kafka imported and built at the top; each function's ratio is to
the naive runs beside it) **{naive[0] * 1000:.0f} ms** init ({naive[1] * 1000:.0f} ms whole
process); a bare interpreter **{bare * 1000:.0f} ms** whole process.

{header}
{rule}
{chr(10).join(lines)}

Verdict: route functions at most 0.5x the naive handler: **{len(met)} of {len(ROUTES)},
{"met" if len(met) == len(ROUTES) else "not met"}**
({", ".join(met) or "none"} at or under). The biggest import costs are named below.

Import costs per route function, ms (median of 5 `python -X importtime` runs; a package
counts with everything it pulls in where it is first imported, so figures overlap; "our code"
is the own time of mayachat's modules, building their pydantic models included):

| function | {" | ".join(groups)} |
|---|{"---:|" * len(groups)}
{chr(10).join(cost_lines)}

Bytecode: the layers ship every module compiled for python3.13 (layers/*/Makefile, since
issue 18; `make venv` compiles the dev venv likewise). `{SOURCE_ONLY_FUNCTION}` with it:
**{source_only[0] * 1000:.0f} ms** init; with bytecode for the standard library only, as
Lambda runs layers of sources (compiled at every cold start on a read-only /opt):
**{source_only[1] * 1000:.0f} ms** ({source_only[1] / source_only[0]:.1f}x).

`import redis` imports `redis.asyncio` (and asyncio) whatever one uses; pydantic comes with
the frame and settings models and Powertools' parser models; botocore is the @connections
signer (and MSK IAM in AWS). Those three are most of what is left.
""",
    )


SOURCE_ONLY_FUNCTION = "ws_send_message"


def measure_source_only(
    stack: contextlib.ExitStack, env: dict[str, str], runs: int
) -> tuple[float, float]:
    """ws_send_message's init as Lambda runs a layer shipped as source (compiled at every cold
    start: /opt is read-only), next to the same with bytecode: a pycache prefix that holds
    the standard library's bytecode (Lambda's runtime has it) and nothing else."""
    import sysconfig
    import tempfile

    prefix = stack.enter_context(tempfile.TemporaryDirectory(prefix="stdlib-bytecode-"))
    stdlib = sysconfig.get_paths()["stdlib"]
    compile_stdlib = [sys.executable, "-X", f"pycache_prefix={prefix}", "-m", "compileall"]
    subprocess.run([*compile_stdlib, "-q", "-j", "0", stdlib], check=False, capture_output=True)
    code_uri = ROOT / "functions" / SOURCE_ONLY_FUNCTION
    no_bytecode = {**env, "PYTHONPYCACHEPREFIX": prefix, "PYTHONDONTWRITEBYTECODE": "1"}
    medians = run({"compiled": (code_uri, env), "source": (code_uri, no_bytecode)}, runs)
    return medians["compiled"][0], medians["source"][0]


def _time(call: object) -> float:
    started = time.perf_counter()
    call()  # type: ignore[operator]
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
