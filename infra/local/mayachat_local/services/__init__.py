"""The backing servers of the local stack, by the name used on the command line."""

from __future__ import annotations

from mayachat_local.config import StackConfig
from mayachat_local.services.base import Service, Status
from mayachat_local.services.ferretdb import FerretDBService
from mayachat_local.services.kafka import KafkaService
from mayachat_local.services.moto import MotoService
from mayachat_local.services.postgres import PostgresService
from mayachat_local.services.redis import RedisClusterService, RedisService
from mayachat_local.services.s3s import S3sService

# Dependencies first: `down` stops them in reverse.
SERVICES: dict[str, type[Service]] = {
    "postgres": PostgresService,
    "kafka": KafkaService,
    "mongodb": FerretDBService,
    "redis": RedisService,
    "aws": MotoService,
    "redis-cluster": RedisClusterService,
    "s3s": S3sService,
}

__all__ = ["SERVICES", "Service", "Status", "build"]


def build(config: StackConfig, names: list[str] | None = None) -> list[Service]:
    """The services named (all but the on-demand ones when none are), with what they require."""
    unknown = sorted(set(names or []) - SERVICES.keys())
    if unknown:
        raise SystemExit(f"unknown service(s) {unknown}; known: {sorted(SERVICES)}")
    services = {name: cls(config) for name, cls in SERVICES.items()}
    wanted = set(names or (name for name, s in services.items() if s.started_by_default))
    pending = list(wanted)
    while pending:
        for required in services[pending.pop()].requires:
            if required not in wanted:
                wanted.add(required)
                pending.append(required)
    return [service for name, service in services.items() if name in wanted]
