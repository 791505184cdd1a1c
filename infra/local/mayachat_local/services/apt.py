"""Debian packages the local stack installs with apt-get when a server is missing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mayachat_local.process import StackError, run_checked
from mayachat_local.services.base import Progress

# Debian's server packages start their own server when installed; this policy (the same trick
# Debian's container images use) keeps apt from starting services, so nothing runs that
# `make down` would not know about.
_POLICY_RC = Path("/usr/sbin/policy-rc.d")


def apt_install(package: str, progress: Progress) -> None:
    """Install `package` without starting its service, or say how to install it."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise StackError(
            f"{package} is not installed: install it (Debian/Ubuntu: "
            f"`sudo apt-get install {package}`) and retry"
        )
    progress(f"installing Debian's {package} with apt-get (first run only)")
    created_policy = not _POLICY_RC.exists()
    if created_policy:
        _POLICY_RC.write_text("#!/bin/sh\nexit 101\n")
        _POLICY_RC.chmod(0o755)
    try:
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        run_checked(["apt-get", "update", "-qq"], what="apt-get update", env=env)
        run_checked(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package],
            what=f"apt-get install {package}",
            env=env,
        )
    finally:
        if created_policy:
            _POLICY_RC.unlink(missing_ok=True)
