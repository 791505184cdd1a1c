"""Redis: Debian's redis-server, installed with apt when missing."""

from __future__ import annotations

import shlex
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from mayachat_local.process import StackError, run_checked
from mayachat_local.services.apt import apt_install
from mayachat_local.services.base import Progress, Service


class RedisService(Service):
    name = "redis"
    start_timeout = 15.0

    @property
    def port(self) -> int:
        return self.config.redis_port

    @property
    def started_by_default(self) -> bool:
        return self.config.app_redis == self.name

    @property
    def endpoint(self) -> str:
        return f"redis://{self.config.host}:{self.port}/0"

    def healthy(self) -> bool:
        client = redis.Redis(
            host=self.config.host, port=self.port, socket_timeout=1, socket_connect_timeout=1
        )
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def install(self, progress: Progress) -> None:
        if not shutil.which("redis-server"):
            apt_install("redis-server", progress)

    def prepare(self) -> None:
        self.config.data_dir(self.name).mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        return self.server(self.port, self.config.data_dir(self.name))

    def server(self, port: int, data: Path, *extra: str) -> list[str]:
        """One redis-server in the foreground, with the functions' user."""
        return [
            "redis-server",
            "--bind",
            self.config.host,
            "--port",
            str(port),
            "--dir",
            str(data),
            "--daemonize",
            "no",
            # Redis holds only what can be rebuilt or may expire; no snapshots to manage.
            "--save",
            "",
            "--appendonly",
            "no",
            *extra,
            *app_user_args(),
        ]


# The functions' user: only what the adapters need (mayachat.adapters.redis_acl), so the local
# stack runs the code path ElastiCache does. The default user stays for tests and tools (a
# local server); in AWS it is disabled. The password is a local one, like the dev JWT secret.
APP_PASSWORD = "mayachat-local-redis-password"  # noqa: S105 - a local dev credential


def app_user_args() -> list[str]:
    from mayachat.adapters.redis_acl import USER, access_string

    # redis-server takes a directive's words as the arguments after it, up to the next --.
    return ["--user", USER, "on", f">{APP_PASSWORD}", *access_string().split()]


def app_url(admin_url: str) -> str:
    """The URL the functions use: the server's, as their user."""
    from mayachat.adapters.redis_acl import USER

    scheme, rest = admin_url.split("://", 1)
    return f"{scheme}://{USER}:{APP_PASSWORD}@{rest.split('@')[-1]}"


class RedisClusterService(RedisService):
    """Redis in cluster mode, as ElastiCache Serverless always is: three primaries (ports
    `redis_cluster_port` to +2) sharing the 16384 slots, no replicas. One process group (a
    shell waits on the three servers), so `make down` stops them together. The functions'
    Redis by default (`MAYACHAT_REDIS_MODE=single`: the single node instead)."""

    name = "redis-cluster"
    nodes = 3

    @property
    def port(self) -> int:
        return self.config.redis_cluster_port

    @property
    def ports(self) -> list[int]:
        return [self.port + i for i in range(self.nodes)]

    def healthy(self) -> bool:
        """Every node answers (the slots are assigned after, in after_start)."""
        return all(self._ask(port, lambda node: node.ping()) for port in self.ports)

    def _ask(self, port: int, question: Callable[[redis.Redis], Any]) -> Any:
        """One node's answer, on a connection closed after it; None when it does not answer."""
        with redis.Redis(host=self.config.host, port=port, socket_timeout=1) as node:
            try:
                return question(node)
            except redis.RedisError:
                return None

    def _cluster_info(self, port: int) -> dict[str, Any]:
        info = self._ask(port, lambda node: node.cluster("info"))
        return info if isinstance(info, dict) else {}

    def prepare(self) -> None:
        for port in self.ports:
            (self.config.data_dir(self.name) / str(port)).mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        servers = [shlex.join(self._node_command(port)) + " &" for port in self.ports]
        return ["sh", "-c", " ".join(servers) + " wait"]

    def _node_command(self, port: int) -> list[str]:
        data = self.config.data_dir(self.name) / str(port)
        cluster = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
        return self.server(port, data, *cluster, "--cluster-node-timeout", "5000")

    def after_start(self, progress: Progress) -> None:
        """Assign the slots once (the nodes remember their cluster across restarts), then wait
        until every node agrees the cluster is up."""
        if not self._cluster_ok():
            known = self._cluster_info(self.port).get("cluster_known_nodes", 1)
            if int(str(known)) < self.nodes:
                progress(f"{self.name}: creating the cluster on ports {self.ports}")
                run_checked(
                    [
                        "redis-cli",
                        "--cluster",
                        "create",
                        *(f"{self.config.host}:{port}" for port in self.ports),
                        "--cluster-replicas",
                        "0",
                        "--cluster-yes",
                    ],
                    what="redis-cli --cluster create",
                )
        deadline = time.monotonic() + self.start_timeout
        while not self._cluster_ok():
            if time.monotonic() > deadline:
                raise StackError(f"{self.name}: the cluster did not reach cluster_state:ok")
            time.sleep(0.1)

    def _cluster_ok(self) -> bool:
        return all(self._cluster_info(p).get("cluster_state") == "ok" for p in self.ports)
