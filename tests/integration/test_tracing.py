"""Traced, each adapter call reaches the X-Ray daemon as a subsegment of the invocation: a
function run as in Lambda (its trace header, the daemon's address) in a process of its own,
since the X-Ray SDK configures itself once per process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    from mayachat.tracing import traced_calls

    @traced_calls("redis")
    class Store:
        def claim(self, x):
            return x + 1

        def confirm(self):
            return None

    store = Store()
    assert store.claim(1) == 2
    store.confirm()
    """
)


def test_subsegments_are_sent_to_the_daemon_under_the_invocations_trace() -> None:
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(10)
    port = daemon.getsockname()[1]
    trace_id = "1-67f00000-0123456789abcdef01234567"
    env = {
        **os.environ,
        "POWERTOOLS_TRACE_DISABLED": "false",
        "LAMBDA_TASK_ROOT": "/var/task",  # Lambda's: X-Ray's facade segment, Powertools on
        "AWS_LAMBDA_FUNCTION_NAME": "ws-send-message",
        "_X_AMZN_TRACE_ID": f"Root={trace_id};Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{port}",
    }
    subprocess.run([sys.executable, "-c", SCRIPT], env=env, check=True, timeout=60)
    names = []
    for _ in range(2):
        packet, _ = daemon.recvfrom(65536)
        header, body = packet.decode().split("\n", 1)
        assert json.loads(header) == {"format": "json", "version": 1}
        document = json.loads(body)
        assert document["trace_id"] == trace_id
        assert document["parent_id"] == "53995c3f42cd8ad8"
        names.append(document["name"])
    daemon.close()
    assert sorted(names) == ["redis.claim", "redis.confirm"]


def test_untraced_a_function_never_imports_the_sdk() -> None:
    check = SCRIPT + "\nimport sys\nassert 'aws_xray_sdk' not in sys.modules, 'imported'\n"
    env = {**os.environ, "LAMBDA_TASK_ROOT": "/var/task", "AWS_LAMBDA_FUNCTION_NAME": "f"}
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    subprocess.run([sys.executable, "-c", check], env=env, check=True, timeout=60)
