"""Redis: Debian's redis-server, installed with apt when missing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import redis

from mayachat_local.process import StackError, run_checked
from mayachat_local.services.base import Progress, Service

# Debian's package starts its own redis on 6379 when installed; this policy (the same trick
# Debian's container images use) keeps apt from starting services, so nothing runs that
# `make down` would not know about.
_POLICY_RC = Path("/usr/sbin/policy-rc.d")


class RedisService(Service):
    name = "redis"
    start_timeout = 15.0

    @property
    def port(self) -> int:
        return self.config.redis_port

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
        if shutil.which("redis-server"):
            return
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            raise StackError(
                "redis-server not found: install it (Debian/Ubuntu: "
                "`sudo apt-get install redis-server`) and retry"
            )
        progress("redis: installing Debian's redis-server with apt-get (first run only)")
        created_policy = not _POLICY_RC.exists()
        if created_policy:
            _POLICY_RC.write_text("#!/bin/sh\nexit 101\n")
            _POLICY_RC.chmod(0o755)
        try:
            env = {"DEBIAN_FRONTEND": "noninteractive"}
            run_checked(["apt-get", "update", "-qq"], what="apt-get update", env=env)
            run_checked(
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "redis-server"],
                what="apt-get install redis-server",
                env=env,
            )
        finally:
            if created_policy:
                _POLICY_RC.unlink(missing_ok=True)

    def prepare(self) -> None:
        self.config.data_dir(self.name).mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        return [
            "redis-server",
            "--bind",
            self.config.host,
            "--port",
            str(self.port),
            "--dir",
            str(self.config.data_dir(self.name)),
            "--daemonize",
            "no",
            # Redis holds only what can be rebuilt or may expire; no snapshots to manage.
            "--save",
            "",
            "--appendonly",
            "no",
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
