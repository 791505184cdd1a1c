"""Where the local stack listens and keeps its files; every value can be overridden by env."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _repo_root() -> Path:
    """The checkout this runs from: the nearest parent holding template.yaml."""
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "template.yaml").is_file():
            return candidate
    return here


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    try:
        port = int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r}: expected a TCP port number") from None
    if not 0 < port < 65536:
        raise SystemExit(f"{name}={raw!r}: expected a TCP port number")
    return port


MONGODB_BACKENDS = ("postgresql", "sqlite")
REDIS_MODES = ("cluster", "single")


def _choice(name: str, choices: tuple[str, ...]) -> str:
    """The variable's value, one of `choices`; the first when unset."""
    raw = os.environ.get(name, choices[0])
    if raw not in choices:
        raise SystemExit(f"{name}={raw!r}: expected one of {', '.join(choices)}")
    return raw


@dataclass(frozen=True)
class StackConfig:
    repo: Path
    state_dir: Path  # logs, pid files, data, endpoints.json: per checkout
    cache_dir: Path  # downloads and builds: shared by every checkout on this machine
    host: str
    kafka_port: int
    kafka_controller_port: int
    mongodb_port: int
    redis_port: int
    aws_port: int
    # The broker's SASL_SSL listener: PLAIN, SCRAM-SHA-512 and OAUTHBEARER over TLS.
    kafka_secure_port: int = 9094
    # The first of three primaries of the cluster-mode Redis (the next two ports are its others).
    redis_cluster_port: int = 7000
    # FerretDB's backend: "postgresql" (its indexes serve the queries) or "sqlite" (no server).
    mongodb_backend: str = "postgresql"
    postgres_port: int = 5432
    # The app's Redis: "cluster" (three primaries, as ElastiCache Serverless) or "single".
    redis_mode: str = "cluster"
    # The attachment tests' S3 that enforces presigned POST policies (services/s3s.py).
    s3s_port: int = 4568

    @classmethod
    def from_env(cls) -> StackConfig:
        repo = _repo_root()
        kafka_port = _port("MAYACHAT_KAFKA_PORT", 9092)
        xdg_cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        return cls(
            repo=repo,
            state_dir=Path(os.environ.get("MAYACHAT_STATE_DIR", repo / ".local")).resolve(),
            cache_dir=Path(os.environ.get("MAYACHAT_CACHE_DIR", xdg_cache / "mayachat")).resolve(),
            host=os.environ.get("MAYACHAT_HOST", "127.0.0.1"),
            kafka_port=kafka_port,
            kafka_controller_port=_port("MAYACHAT_KAFKA_CONTROLLER_PORT", 9093),
            mongodb_port=_port("MAYACHAT_MONGODB_PORT", 27017),
            redis_port=_port("MAYACHAT_REDIS_PORT", 6379),
            aws_port=_port("MAYACHAT_AWS_PORT", 4566),
            # Beside the broker's other two: a moved Kafka moves all three.
            kafka_secure_port=_port("MAYACHAT_KAFKA_SECURE_PORT", kafka_port + 2),
            redis_cluster_port=_port("MAYACHAT_REDIS_CLUSTER_PORT", 7000),
            mongodb_backend=_choice("MAYACHAT_MONGODB_BACKEND", MONGODB_BACKENDS),
            postgres_port=_port("MAYACHAT_POSTGRES_PORT", 5432),
            redis_mode=_choice("MAYACHAT_REDIS_MODE", REDIS_MODES),
            s3s_port=_port("MAYACHAT_S3S_PORT", 4568),
        )

    @property
    def app_redis(self) -> str:
        """The Redis service the functions use: the cluster, or the single node."""
        return "redis-cluster" if self.redis_mode == "cluster" else "redis"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    def data_dir(self, service: str) -> Path:
        return self.state_dir / "data" / service

    @property
    def endpoints_file(self) -> Path:
        return self.state_dir / "endpoints.json"
