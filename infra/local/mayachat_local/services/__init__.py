"""The backing servers of the local stack, by the name used on the command line."""

from __future__ import annotations

from mayachat_local.config import StackConfig
from mayachat_local.services.base import Service, Status
from mayachat_local.services.ferretdb import FerretDBService
from mayachat_local.services.kafka import KafkaService
from mayachat_local.services.moto import MotoService
from mayachat_local.services.redis import RedisClusterService, RedisService

SERVICES: dict[str, type[Service]] = {
    "kafka": KafkaService,
    "mongodb": FerretDBService,
    "redis": RedisService,
    "aws": MotoService,
    "redis-cluster": RedisClusterService,
}

__all__ = ["SERVICES", "Service", "Status", "build"]


def build(config: StackConfig, names: list[str] | None = None) -> list[Service]:
    unknown = sorted(set(names or []) - SERVICES.keys())
    if unknown:
        raise SystemExit(f"unknown service(s) {unknown}; known: {sorted(SERVICES)}")
    if names:
        return [cls(config) for name, cls in SERVICES.items() if name in names]
    return [cls(config) for cls in SERVICES.values() if not cls.on_demand]
