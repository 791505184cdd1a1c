"""`sam build` as a team without Docker or python3.13 runs it, and what it builds.

The build's PATH holds only the system's tools and uv: every resource is a make build
(template.yaml's BuildMethod: makefile), the deps layer installs Linux arm64 wheels from PyPI
(cached in ~/.cache/uv; built resources in ~/.cache/mayachat/sam-cache, so a rebuild takes
seconds). Then: each .so in the deps layer is an aarch64 ELF, every function with its layers
stays under Lambda's 250 MB, and each built handler imports from the built core layer with the
environment pointing at nothing reachable.

The deps layer's aarch64 binaries cannot load on this x86_64 machine, so the imports take the
dependencies from the dev venv (same pins: requirements/lambda.txt is compiled against dev.txt)
and `mayachat` from the built layer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mayachat_local.runtime.template import load_template, resources_of_type

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
# SAM CLI lives in its own venv (make sam-venv): its pins (boto3, click) stay out of the app's.
SAM = Path(os.environ.get("MAYACHAT_SAM", REPO / ".venv-sam" / "bin" / "sam"))
SAM_CACHE = Path(
    os.environ.get("MAYACHAT_SAM_CACHE", Path.home() / ".cache" / "mayachat" / "sam-cache")
)
SAM_BUILD = [str(SAM), "build", "--cached", "--parallel"]
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024  # function code + all its layers, unzipped
EM_AARCH64 = 183

# Handlers whose import runs ensure_indexes (a round trip to MongoDB, once per container):
# offline, that call is stubbed; everything else runs as in Lambda. The route functions build
# their MongoDB adapters on first use (bootstrap's _Lazy* stand-ins), so not at import.
MONGO_AT_IMPORT = {"PersistFunction", "NotifyFunction"}

# What a deployed function reads, pointing at nothing that answers.
OFFLINE_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "offline",
    "AWS_SECRET_ACCESS_KEY": "offline",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "KAFKA_BROKERS": "127.0.0.1:9",
    "KAFKA_SASL_MECHANISM": "aws_msk_iam",
    "KAFKA_SSL_ENABLED": "true",
    "REDIS_URL": "rediss://127.0.0.1:9/0",
    # true in AWS: RedisCluster reads the slot map when built, a round trip at cold start.
    "REDIS_CLUSTER": "false",
    "MONGODB_URI": "mongodb://127.0.0.1:9/mayachat",
    "JWT_ISSUER": "https://issuer.invalid",
    "JWT_AUDIENCE": "mayachat",
    "JWT_JWKS_URL": "http://127.0.0.1:9/.well-known/jwks.json",
    "WEBSOCKET_MANAGEMENT_ENDPOINT": "http://127.0.0.1:9/prod",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
}


def _build_path(tmp: Path) -> str:
    """uv and the system's tools only: no python3.13, no docker, no venv."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    (bin_dir / "uv").symlink_to(VENV_BIN / "uv")
    return f"{bin_dir}:/usr/bin:/bin"


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if not SAM.exists():
        pytest.fail(f"aws-sam-cli not found at {SAM}: make sam-venv")
    tmp = tmp_path_factory.mktemp("sam")
    out = tmp / "build"
    started = time.monotonic()
    result = subprocess.run(
        [*SAM_BUILD, "--build-dir", str(out), "--cache-dir", str(SAM_CACHE)],
        cwd=REPO,
        # The caller's environment (proxies, CA bundles, uv's settings) with a PATH of the
        # system's tools and uv only.
        env={**os.environ, "PATH": _build_path(tmp), "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    print(f"\nsam build: {time.monotonic() - started:.1f} s")  # shown with -s
    yield out
    shutil.rmtree(out, ignore_errors=True)


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def test_every_resource_is_built(build: Path) -> None:
    source = load_template(REPO / "template.yaml")
    built = load_template(build / "template.yaml")
    for kind in ("AWS::Serverless::Function", "AWS::Serverless::LayerVersion"):
        assert set(resources_of_type(built, kind)) == set(resources_of_type(source, kind))
    for name in resources_of_type(source, "AWS::Serverless::Function"):
        # A function is only its handler; the core and the dependencies are layers.
        assert sorted(p.name for p in (build / name).iterdir()) == ["app.py"], name
    core = build / "CoreLayer" / "python" / "mayachat"
    assert (core / "bootstrap.py").is_file()
    assert not list(core.rglob("__pycache__"))


def test_the_deps_layer_is_arm64(build: Path) -> None:
    deps = build / "DepsLayer" / "python"
    shared = [p for p in deps.rglob("*.so*") if p.is_file()]
    assert shared
    for path in shared:
        header = path.read_bytes()[:20]
        assert header[:4] == b"\x7fELF", path
        assert int.from_bytes(header[18:20], "little") == EM_AARCH64, f"{path} is not aarch64"
    for native in ("confluent_kafka/cimpl", "pydantic_core/_pydantic_core", "pymongo/_cmessage"):
        package, stem = native.split("/")
        assert list((deps / package).glob(f"{stem}.cpython-313-aarch64-linux-gnu.so")), native
    # Exactly the pins the venv's tests ran with.
    pins = dict(
        line.split("==")
        for line in (REPO / "requirements" / "lambda.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert list(deps.glob(f"confluent_kafka-{pins['confluent-kafka']}.dist-info"))
    assert list(deps.glob(f"pydantic-{pins['pydantic']}.dist-info"))


def test_each_function_with_its_layers_fits_in_lambda(build: Path) -> None:
    layers = _size(build / "CoreLayer") + _size(build / "DepsLayer")
    sizes = {name.name: _size(name) for name in build.iterdir() if name.is_dir()}
    report = ", ".join(f"{k} {v / 1e3:,.1f} kB" for k, v in sorted(sizes.items()))
    print(f"\nunzipped: {report}")  # shown with -s
    for name, size in sizes.items():
        if name.endswith("Layer"):
            continue
        assert size + layers < LAMBDA_UNZIPPED_LIMIT, f"{name}: {(size + layers) / 1e6:.0f} MB"


IMPORT = """
import json, sys
stub_mongo, function_dir, core = sys.argv[1] == "1", sys.argv[2], sys.argv[3]
sys.path[:0] = [function_dir, core]  # Lambda: /var/task, then /opt/python
if stub_mongo:
    import mayachat.adapters.mongo_schema as schema
    schema.ensure_indexes = lambda database: None
import app
import mayachat
print(json.dumps({"handler": callable(app.handler), "core": mayachat.__file__}))
"""


def _run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**OFFLINE_ENV, "PATH": os.environ.get("PATH", ""), "HOME": str(Path.home())}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
    )


def test_each_built_handler_imports_offline(build: Path) -> None:
    functions = sorted(
        resources_of_type(load_template(build / "template.yaml"), "AWS::Serverless::Function")
    )
    core = str(build / "CoreLayer" / "python")

    def check(name: str) -> tuple[str, subprocess.CompletedProcess[str]]:
        stub = "1" if name in MONGO_AT_IMPORT else "0"
        return name, _run(IMPORT, stub, str(build / name), core)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(check, functions))
    for name, result in results:
        assert result.returncode == 0, f"{name}: {result.stderr[-3000:]}"
        answer = json.loads(result.stdout.strip().splitlines()[-1])
        assert answer["handler"], name
        assert answer["core"].startswith(core), f"{name} imported mayachat from {answer['core']}"


ANSWER = """
import json, sys
function_dir, core, event_file = sys.argv[1:4]
sys.path[:0] = [function_dir, core]
import app

class Context:
    function_name, memory_limit_in_mb, aws_request_id = "local", 256, "req-1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:local"
    def get_remaining_time_in_millis(self): return 5000

event = json.load(open(event_file))
try:
    print(json.dumps({"ok": app.handler(event, Context())}))
except Exception as exc:
    print(json.dumps({"error": str(exc)}))
"""


def test_handlers_answer_their_sample_events_without_network(build: Path) -> None:
    events = REPO / "tests" / "events"
    core = str(build / "CoreLayer" / "python")
    # The sample token is a placeholder, not a JWT: refused before any key is fetched.
    result = _run(
        ANSWER, str(build / "WsAuthorizerFunction"), core, str(events / "ws_authorizer.json")
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"error": "Unauthorized"}, (
        result.stderr
    )
    result = _run(
        ANSWER, str(build / "RestApiFunction"), core, str(events / "rest_api_health.json")
    )
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["ok"]["statusCode"] == 200, result.stderr
    assert json.loads(answer["ok"]["body"]) == {"status": "ok"}
