"""The chaos stack's servers as processes the harness may kill: start them (the stack's own
`up`), kill -9, SIGSTOP/SIGCONT, restart, the Redis replica and its failover, the Redis proxy
the functions use, and a teardown that leaves nothing running on the harness's ports."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Callable

import redis

from mayachat_local.chaos import config as cc
from mayachat_local.chaos.proxy import TcpProxy
from mayachat_local.config import StackConfig
from mayachat_local.process import StackError, port_open, running_pid, spawn, stop, wait_healthy
from mayachat_local.services import SERVICES
from mayachat_local.services.redis import app_user_args
from mayachat_local.stack import up

Say = Callable[[str], None]


class Cluster:
    def __init__(self, config: StackConfig, say: Say) -> None:
        self.config = config
        self.say = say
        self.primary_port = config.redis_port
        # The functions' Redis endpoint; the replica's link to its primary.
        self.redis_proxy = TcpProxy("redis-proxy", cc.HOST, cc.REDIS_PROXY_PORT, self.primary_port)
        self.link: TcpProxy | None = None
        self.foreign: set[str] = set()  # ports someone else listens on: not ours to close

    # ------------------------------------------------------------------ lifecycle
    def clean_start(self) -> None:
        """Stop what an earlier (crashed) chaos run left, refuse to run over servers that are
        not ours, and start from empty data dirs."""
        for name in [cc.REPLICA, *reversed(SERVICES)]:  # a server after its clients
            if stop(self.config, name):
                self.say(f"stopped a {name} left by an earlier chaos run")
        taken = {n: p for n, p in cc.owned_ports(self.config).items() if port_open(cc.HOST, p)}
        if taken:
            self.foreign = set(taken)
            raise StackError(
                f"ports of the chaos stack are in use by processes it did not start: {taken}; "
                "stop them (or change mayachat_local/chaos/config.py)"
            )
        shutil.rmtree(self.config.state_dir / "data", ignore_errors=True)

    def start(self) -> dict[str, str]:
        """Every backing server, and the Redis proxy; the endpoints the functions get."""
        statuses = up(self.config)
        self.redis_proxy.start()
        endpoints = {s.name: s.endpoint for s in statuses}
        endpoints["redis"] = f"redis://{cc.HOST}:{cc.REDIS_PROXY_PORT}/0"
        return endpoints

    def close(self) -> list[str]:
        """Stop everything this cluster started; the ports still open afterwards (none)."""
        self._resume_all()  # a frozen server cannot shut down
        self.redis_proxy.stop()
        if self.link is not None:
            self.link.stop()
        stop(self.config, cc.REPLICA)
        for name in reversed(SERVICES):  # FerretDB before the PostgreSQL it is a client of
            stop(self.config, name)
        deadline = time.monotonic() + 10
        while True:
            left = [
                f"{n}:{p}"
                for n, p in cc.owned_ports(self.config).items()
                if n not in self.foreign and port_open(cc.HOST, p)
            ]
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.2)

    def heal(self) -> None:
        """After a fault that failed halfway: every server running and resumed, and the
        stack's own Redis the primary behind the proxy."""
        self._resume_all()
        if self.link is not None:
            self.link.release()
        with contextlib.suppress(Exception):
            self.restore_primary()
        if self.primary_port != self.config.redis_port:  # no switchback: a fresh primary
            stop(self.config, cc.REPLICA)
            self.primary_port = self.config.redis_port
            self.redis_proxy.switch(self.primary_port)
        up(self.config)

    def _resume_all(self) -> None:
        for name in [*SERVICES, cc.REPLICA]:
            pid = running_pid(self.config, name)
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

    # ------------------------------------------------------------------ processes
    def pid(self, name: str) -> int:
        pid = running_pid(self.config, name)
        if pid is None:
            raise StackError(f"{name} is not running (no live pid file in {self.config.run_dir})")
        return pid

    def kill(self, name: str) -> None:
        """kill -9, as a crash: no shutdown of any kind."""
        pid = self.pid(name)
        os.kill(pid, signal.SIGKILL)
        _reap(pid)
        (self.config.run_dir / f"{name}.pid").unlink(missing_ok=True)

    def pause(self, name: str) -> None:
        os.kill(self.pid(name), signal.SIGSTOP)

    def resume(self, name: str) -> None:
        os.kill(self.pid(name), signal.SIGCONT)

    def stop(self, name: str) -> None:
        """A clean stop (SIGTERM, then SIGKILL after 20 s)."""
        if not stop(self.config, name):
            raise StackError(f"{name} was not running")

    def restart(self, name: str) -> None:
        """Start a stopped or killed service again, with the stack's own start code. Redis
        comes back empty, as it runs without persistence (an RDB file a replica sync left
        behind would be loaded, so it goes first)."""
        if name == "redis":
            for snapshot in self.config.data_dir(name).glob("*.rdb"):
                snapshot.unlink()
        up(self.config, [name])

    # ------------------------------------------------------------------ redis
    def redis(self, port: int | None = None) -> redis.Redis:
        return redis.Redis(
            host=cc.HOST, port=port or self.primary_port, socket_timeout=3, socket_connect_timeout=2
        )

    def start_replica(self) -> None:
        """A replica of the primary, replicating through a link the harness can hold back."""
        if self.link is None:
            self.link = TcpProxy("replication-link", cc.HOST, cc.REPLICATION_LINK_PORT, 0)
            self.link.start()
        self.link.switch(self.primary_port)
        self.link.release()
        self.redis().config_set("repl-diskless-sync-delay", 0)  # not the default 5 s wait
        self._spawn_replica(cc.REPLICATION_LINK_PORT)
        self.wait_replica_in_sync(cc.REDIS_REPLICA_PORT, self.primary_port, timeout=15)

    def promote_replica(self) -> int:
        """The replica becomes the primary and the endpoint moves to it (the proxied
        connections close); how many connections the move closed."""
        assert self.link is not None
        self.link.drop()  # what the old primary sent and the replica had not got: gone
        self.redis(cc.REDIS_REPLICA_PORT).replicaof("NO", "ONE")
        self.primary_port = cc.REDIS_REPLICA_PORT
        return self.redis_proxy.switch(cc.REDIS_REPLICA_PORT)

    def restore_primary(self) -> None:
        """After a failover: the stack's own Redis is the primary again, with the promoted
        replica's data (a planned switchover: writes paused until the new primary has them),
        and the replica is stopped."""
        if self.primary_port == self.config.redis_port:
            return
        if running_pid(self.config, "redis") is None:
            self.restart("redis")
        home = self.redis(self.config.redis_port)
        home.config_set("repl-diskless-load", "swapdb")  # the sync writes no RDB file
        self.redis(cc.REDIS_REPLICA_PORT).config_set("repl-diskless-sync-delay", 0)
        home.replicaof(cc.HOST, cc.REDIS_REPLICA_PORT)
        self.wait_replica_in_sync(self.config.redis_port, cc.REDIS_REPLICA_PORT, timeout=15)
        current = self.redis(cc.REDIS_REPLICA_PORT)
        current.client_pause(5000, all=False)
        self.wait_replica_in_sync(self.config.redis_port, cc.REDIS_REPLICA_PORT, timeout=5)
        home.replicaof("NO", "ONE")
        self.primary_port = self.config.redis_port
        self.redis_proxy.switch(self.config.redis_port)
        stop(self.config, cc.REPLICA)

    def wait_replica_in_sync(self, replica: int, primary: int, timeout: float) -> None:
        """Until the replica's link is up and it has every byte the primary had written when
        this was called."""
        deadline = time.monotonic() + timeout
        target: int | None = None
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError):
                if target is None:
                    target = int(self.redis(primary).info("replication")["master_repl_offset"])
                info = self.redis(replica).info("replication")
                if (
                    info.get("master_link_status") == "up"
                    and int(info.get("slave_repl_offset", -1)) >= target
                ):
                    return
            time.sleep(0.1)
        raise StackError(f"redis on {replica} did not catch up with {primary} in {timeout:.0f}s")

    def _spawn_replica(self, primary_port: int) -> None:
        data = self.config.data_dir(cc.REPLICA)
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        argv = [
            "redis-server",
            *("--bind", cc.HOST, "--port", str(cc.REDIS_REPLICA_PORT), "--dir", str(data)),
            *("--daemonize", "no", "--save", "", "--appendonly", "no"),
            *("--replicaof", cc.HOST, str(primary_port)),
            # The primary writes the snapshot straight to the socket: no file to wait for.
            *("--repl-diskless-load", "swapdb"),
            *app_user_args(),  # ACL users are not replicated: the functions' user, once promoted
        ]
        proc = spawn(self.config, cc.REPLICA, argv, cwd=self.config.state_dir)

        def healthy() -> bool:
            try:
                return bool(self.redis(cc.REDIS_REPLICA_PORT).ping())
            except redis.RedisError:
                return False

        wait_healthy(self.config, cc.REPLICA, proc, healthy, 15)


def _reap(pid: int, timeout: float = 10.0) -> None:
    """Wait until a killed process is gone (reaping it when it is our child)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child: wait for it to disappear
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        else:
            if done == pid:
                return
        time.sleep(0.05)
