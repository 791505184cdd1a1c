"""Bring the backing servers up (in parallel), record where they listen, take them down."""

from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mayachat_local.config import StackConfig
from mayachat_local.process import StackError, running_pid, stop
from mayachat_local.services import SERVICES, Service, Status, build

_print_lock = threading.Lock()


def say(message: str) -> None:
    with _print_lock:
        print(message, flush=True)


def up(config: StackConfig, names: list[str] | None = None) -> list[Status]:
    """Start (or reuse) each service, and what it requires first; raise StackError naming every
    one that failed."""
    services = build(config, names)
    started = time.monotonic()
    required = {name for service in services for name in service.requires}
    statuses: list[Status] = []
    for wave in (
        [s for s in services if s.name in required],
        [s for s in services if s.name not in required],
    ):
        statuses += _ensure_all(wave)
    update_endpoints(config, {s.name: s.endpoint for s in statuses})
    say(f"stack ready in {time.monotonic() - started:.1f}s")
    return statuses


def _ensure_all(services: list[Service]) -> list[Status]:
    if not services:
        return []
    with ThreadPoolExecutor(max_workers=len(services)) as pool:
        futures = {svc.name: pool.submit(svc.ensure, say) for svc in services}
    statuses, failures = [], []
    for name, future in futures.items():
        try:
            statuses.append(future.result())
        except StackError as exc:
            failures.append(f"{name}: {exc}")
    if failures:
        raise StackError("\n".join(failures))
    return statuses


def down(config: StackConfig) -> list[str]:
    """Stop exactly the processes whose pid files we wrote; leave reused servers alone."""
    stopped = []
    for name in reversed(SERVICES):
        if stop(config, name):
            stopped.append(name)
    return stopped


def update_endpoints(config: StackConfig, entries: dict[str, Any]) -> None:
    """Merge `entries` into .local/endpoints.json (the gateway and REST add theirs later)."""
    path = config.endpoints_file
    path.parent.mkdir(parents=True, exist_ok=True)
    current: dict[str, Any] = {}
    if path.exists():
        try:
            current = json.loads(path.read_text())
        except json.JSONDecodeError:
            current = {}
    current.update(entries)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def app_environment(endpoints: dict[str, str]) -> dict[str, str]:
    """The app's settings variables that point it at the local stack. Its Redis is the
    cluster when `endpoints` has one (through the cluster client, as in AWS), else the node."""
    redis_url = endpoints.get("redis-cluster") or endpoints.get("redis")
    env = {
        "KAFKA_BROKERS": endpoints.get("kafka"),
        "MONGODB_URI": endpoints.get("mongodb"),
        "REDIS_URL": redis_url,
        "REDIS_CLUSTER": str("redis-cluster" in endpoints).lower() if redis_url else None,
        "AWS_ENDPOINT_URL": endpoints.get("aws"),
    }
    return {key: value for key, value in env.items() if value}


def function_environment(endpoints: dict[str, str]) -> dict[str, str]:
    """Overrides for running the template's functions against the local stack.

    The template's Globals carry AWS values as plain strings (MSK IAM over TLS); locally the
    broker is PLAINTEXT, tokens are dev tokens and the MongoDB URI is not a secret. Redis is
    reached as the functions' own ACL user (services/redis.py), as in AWS.
    """
    from mayachat_local.devtools.devauth import auth_environment
    from mayachat_local.services.moto import push_environment
    from mayachat_local.services.redis import app_url

    app = app_environment(endpoints)
    if "aws" in endpoints:
        app.update(push_environment())
    if "REDIS_URL" in app:
        app["REDIS_URL"] = app_url(app["REDIS_URL"])
    return {
        **app,
        **auth_environment(),
        "KAFKA_SASL_MECHANISM": "",
        "KAFKA_SSL_ENABLED": "false",
        "MONGODB_SECRET_ID": "",
        "JWT_JWKS_URL": "",
    }


def print_table(statuses: list[Status]) -> None:
    width = max(len(s.name) for s in statuses)
    for s in statuses:
        say(f"  {s.name:<{width}}  {s.endpoint:<40} {s.state}")


def status(config: StackConfig) -> int:
    for name, cls in SERVICES.items():
        svc = cls(config)
        pid = running_pid(config, name)
        owner = f"pid {pid}" if pid else "not started by us"
        health = "healthy" if svc.healthy() else "down"
        say(f"  {name:<13} {svc.endpoint:<40} {health:<8} ({owner})")
    return 0


def main(argv: list[str]) -> int:
    config = StackConfig.from_env()
    command, names = (argv[0] if argv else "up"), argv[1:] or None
    if command == "up":
        try:
            statuses = up(config, names)
        except StackError as exc:
            say(f"error: {exc}")
            return 1
        print_table(statuses)
        say(f"endpoints written to {config.endpoints_file}")
        return 0
    if command == "down":
        stopped = down(config)
        say(f"stopped: {', '.join(stopped) if stopped else 'nothing (no pid files)'}")
        return 0
    if command == "status":
        return status(config)
    if command == "env":
        endpoints = json.loads(config.endpoints_file.read_text())
        other_redis = "redis" if config.app_redis == "redis-cluster" else "redis-cluster"
        endpoints.pop(other_redis, None)  # a test may have started it too
        for key, value in app_environment(endpoints).items():
            say(f"export {key}={value}")
        return 0
    say("usage: python -m mayachat_local.stack [up [service...] | down | status | env]")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
