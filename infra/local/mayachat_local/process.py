"""Start, find and stop the stack's processes: pid files name exactly what we started."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from mayachat_local.config import StackConfig


class StackError(RuntimeError):
    """A service could not be installed or started; the message says what to do."""


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def pid_file(config: StackConfig, name: str) -> Path:
    return config.run_dir / f"{name}.pid"


def running_pid(config: StackConfig, name: str) -> int | None:
    """The pid we recorded for `name`, if that process is still alive."""
    path = pid_file(config, name)
    try:
        pid = int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        path.unlink(missing_ok=True)
        return None
    if _is_zombie(pid):
        path.unlink(missing_ok=True)
        return None
    return pid


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def spawn(
    config: StackConfig,
    name: str,
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `argv` in its own session (so `down` can stop its whole group), logging to a file."""
    config.logs_dir.mkdir(parents=True, exist_ok=True)
    config.run_dir.mkdir(parents=True, exist_ok=True)
    log_path = config.logs_dir / f"{name}.log"
    with log_path.open("ab") as log:
        log.write(
            f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {name}: "
            f"{' '.join(argv)}\n".encode()
        )
        log.flush()
        proc = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    pid_file(config, name).write_text(str(proc.pid))
    return proc


def wait_healthy(
    config: StackConfig,
    name: str,
    proc: subprocess.Popen[bytes] | None,
    healthy: Callable[[], bool],
    timeout: float,
) -> None:
    """Poll `healthy` until it answers, the process dies, or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            pid_file(config, name).unlink(missing_ok=True)
            raise StackError(
                f"{name} exited with code {proc.returncode} during start; "
                f"last log lines:\n{tail_log(config, name)}"
            )
        if healthy():
            return
        time.sleep(0.25)
    raise StackError(
        f"{name} did not become healthy within {timeout:.0f}s; "
        f"last log lines:\n{tail_log(config, name)}"
    )


def tail_log(config: StackConfig, name: str, lines: int = 15) -> str:
    try:
        text = (config.logs_dir / f"{name}.log").read_text(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


def stop(config: StackConfig, name: str, timeout: float = 20.0) -> bool:
    """Stop the process group we started for `name`; False if we had not started one."""
    pid = running_pid(config, name)
    if pid is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        if _is_zombie(pid):
            break
        time.sleep(0.1)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    # Reap it if it is our own child (tests start services in-process).
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    pid_file(config, name).unlink(missing_ok=True)
    return True


def run_checked(
    argv: Sequence[str], *, what: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> None:
    """Run an install/build step; on failure raise with its output, not a bare exit code."""
    result = subprocess.run(
        list(argv),
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if result.returncode != 0:
        output = result.stdout.decode(errors="replace")[-4000:]
        raise StackError(f"{what} failed (exit {result.returncode}):\n{output}")
