"""What a WebSocket route function imports at cold start, with its clients built against the
real local servers: no pydantic (frame models load at the first frame), no botocore (the
@connections signer loads at the first post), no pymongo (read on a membership-cache miss).
Each of these costs 0.1-0.4 s of init (docs/benchmarks.md, cold start)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mayachat_local.stack import function_environment

pytestmark = pytest.mark.integration

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
# Every WebSocket route function (and the authorizer): functions/ws_*.
ROUTES = sorted(p.name for p in FUNCTIONS.iterdir() if p.name.startswith("ws_"))
# Packages, and botocore's signer and sessions (Powertools imports botocore's small top module
# for its user agent, which costs nothing to speak of).
DEFERRED = ("pydantic", "pymongo", "botocore.auth", "botocore.session", "botocore.credentials")
PROBE = "import json, sys, app; print(json.dumps(sorted(sys.modules)))"


@pytest.mark.parametrize("function", ROUTES)
def test_a_route_function_builds_its_clients_without_the_deferred_packages(
    function: str, stack_endpoints: dict[str, str]
) -> None:
    env = {
        **os.environ,
        **function_environment(stack_endpoints),
        "WEBSOCKET_MANAGEMENT_ENDPOINT": "http://127.0.0.1:9/local",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=FUNCTIONS / function,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert "mayachat.bootstrap" in loaded
    early = sorted({d for d in DEFERRED for m in loaded if m == d or m.startswith(f"{d}.")})
    assert early == [], f"{function} imports {early} at init"
