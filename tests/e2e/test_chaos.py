"""Fault injection, bounded: every fault of mayachat_local.chaos (Kafka killed and frozen, Redis
killed, flushed and failed over to a lagging replica, MongoDB down past the persist mapping's
retry budget) against a stack of the harness's own, with phones and cursor-based readers; the
checker must find nothing that an ack promised broken. `make chaos` is the long run.

The harness runs as a subprocess: it starts and kills its own servers on its own ports and
points its process's environment at them, so nothing of the session's stack is touched."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUDGET = 240  # seconds; the bounded run takes about 150
GRACE = 60  # after SIGTERM, for the harness to stop what it started


@pytest.mark.timeout(BUDGET + GRACE + 30)
def test_no_fault_breaks_what_an_ack_promised(tmp_path: Path) -> None:
    report = tmp_path / "chaos.md"
    command = [sys.executable, "-m", "mayachat_local.chaos", "--bounded", "--report", str(report)]
    with subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        try:
            output, _ = proc.communicate(timeout=BUDGET)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)  # the harness tears down on SIGTERM
            try:
                output, _ = proc.communicate(timeout=GRACE)
            except subprocess.TimeoutExpired:
                proc.kill()
                output, _ = proc.communicate()
            pytest.fail(f"the bounded chaos run took over {BUDGET}s:\n{output[-6000:]}")
    table = report.read_text() if report.exists() else output[-6000:]
    assert proc.returncode == 0, f"the chaos checker found violations:\n\n{table}"
