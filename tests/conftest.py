"""Shared fixtures. Tests are marked by folder (unit / integration / e2e), so `-m unit` and the
make targets select them; integration fixtures start the real local servers on demand."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from redis import Redis
from redis.cluster import RedisCluster

from mayachat_local.config import StackConfig
from mayachat_local.stack import app_environment, up

TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        kind = Path(item.path).relative_to(TESTS).parts[0]
        if kind in ("unit", "integration", "e2e"):
            item.add_marker(getattr(pytest.mark, kind))


@pytest.fixture(scope="session")
def stack_config() -> StackConfig:
    return StackConfig.from_env()


def _start(config: StackConfig, name: str) -> str:
    (status,) = (s for s in up(config, [name]) if s.name == name)
    # Point the app's settings (and boto3) at the server, as `make dev` users do.
    os.environ.update(app_environment({name: status.endpoint}))
    return status.endpoint


@pytest.fixture(scope="session")
def kafka_brokers(stack_config: StackConfig) -> str:
    return _start(stack_config, "kafka")


@pytest.fixture(scope="session")
def mongodb_uri(stack_config: StackConfig) -> Iterator[str]:
    """A database of this test session's own, dropped at the end: the dev database keeps
    what `make dev` users put in it, and FerretDB scans grow with every leftover."""
    from pymongo import MongoClient

    server = _start(stack_config, "mongodb").rsplit("/", 1)[0]
    name = f"mayachat_test_{uuid.uuid4().hex[:8]}"
    uri = f"{server}/{name}"
    os.environ["MONGODB_URI"] = uri
    yield uri
    client: MongoClient[dict[str, object]] = MongoClient(server)
    client.drop_database(name)
    client.close()


@pytest.fixture(scope="session")
def redis_node_url(stack_config: StackConfig) -> str:
    """The single-node Redis (`MAYACHAT_REDIS_MODE=single`, or a user's own Redis)."""
    (status,) = up(stack_config, ["redis"])
    return status.endpoint


@pytest.fixture(scope="session")
def redis_cluster_url(stack_config: StackConfig) -> str:
    """Redis in cluster mode (three primaries), as ElastiCache Serverless always is."""
    (status,) = up(stack_config, ["redis-cluster"])
    return status.endpoint


@pytest.fixture(scope="session")
def redis_endpoints(stack_config: StackConfig) -> dict[str, str]:
    """The functions' Redis, by service name: the cluster by default, as in AWS."""
    name = stack_config.app_redis
    endpoint = _start(stack_config, name)
    return {name: endpoint}


@pytest.fixture(scope="session")
def redis_url(redis_endpoints: dict[str, str]) -> str:
    """The functions' Redis (REDIS_URL and REDIS_CLUSTER are set to it for the session)."""
    (url,) = redis_endpoints.values()
    return url


@pytest.fixture
def redis_admin(redis_endpoints: dict[str, str]) -> Iterator[Redis]:
    """A client of the functions' Redis as its admin (the default user), in the mode it runs."""
    (url,) = redis_endpoints.values()
    client = (
        cast("Redis", RedisCluster.from_url(url))
        if "redis-cluster" in redis_endpoints
        else Redis.from_url(url)
    )
    yield client
    client.close()


@pytest.fixture(params=["single", "cluster"])
def redis_client(request: pytest.FixtureRequest) -> Iterator[Redis]:
    """A client of the single-node Redis, then of the cluster through the cluster client, as
    the functions use it in AWS (`REDIS_CLUSTER=true`): every Lua script and transaction must
    keep its keys in one slot there."""
    if request.param == "single":
        client = Redis.from_url(request.getfixturevalue("redis_node_url"))
    else:
        url = request.getfixturevalue("redis_cluster_url")
        client = cast("Redis", RedisCluster.from_url(url))
    yield client
    client.close()


@pytest.fixture(scope="session")
def aws_endpoint(stack_config: StackConfig) -> Iterator[str]:
    endpoint = _start(stack_config, "aws")
    # moto accepts any credentials; never let a test reach a real account.
    saved = {
        k: os.environ.get(k)
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION")
    }
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
    )
    yield endpoint
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def stack_endpoints(
    kafka_brokers: str, mongodb_uri: str, redis_endpoints: dict[str, str], aws_endpoint: str
) -> dict[str, str]:
    """Every backing service, started; the form function_environment() takes."""
    return {"kafka": kafka_brokers, "mongodb": mongodb_uri, **redis_endpoints, "aws": aws_endpoint}
