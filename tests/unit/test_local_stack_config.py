"""Which servers the local stack starts, and what it tells the app: by mode, without starting
anything."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mayachat_local.config import StackConfig
from mayachat_local.services import build
from mayachat_local.stack import app_environment


@pytest.fixture
def config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> StackConfig:
    for name in ("MAYACHAT_REDIS_MODE", "MAYACHAT_MONGODB_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAYACHAT_STATE_DIR", str(tmp_path))
    return StackConfig.from_env()


def _names(config: StackConfig, names: list[str] | None = None) -> list[str]:
    return [service.name for service in build(config, names)]


def test_by_default_redis_is_the_cluster_and_mongodb_runs_on_postgresql(
    config: StackConfig,
) -> None:
    assert (config.redis_mode, config.mongodb_backend) == ("cluster", "postgresql")
    assert _names(config) == ["postgres", "kafka", "mongodb", "aws", "redis-cluster"]


def test_the_single_node_and_sqlite_modes_start_no_cluster_and_no_postgres(
    config: StackConfig,
) -> None:
    single = replace(config, redis_mode="single", mongodb_backend="sqlite")
    assert _names(single) == ["kafka", "mongodb", "redis", "aws"]


def test_a_named_service_brings_what_it_requires(config: StackConfig) -> None:
    assert _names(config, ["mongodb"]) == ["postgres", "mongodb"]
    assert _names(replace(config, mongodb_backend="sqlite"), ["mongodb"]) == ["mongodb"]
    assert _names(config, ["redis"]) == ["redis"]  # the node, when a test asks for it


@pytest.mark.parametrize(
    ("variable", "value"),
    [("MAYACHAT_REDIS_MODE", "sentinel"), ("MAYACHAT_MONGODB_BACKEND", "mysql")],
)
def test_an_unknown_mode_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit, match=f"{variable}='{value}': expected one of"):
        StackConfig.from_env()


def test_the_app_reaches_the_cluster_through_the_cluster_client() -> None:
    env = app_environment({"redis-cluster": "redis://127.0.0.1:7000/0"})
    assert (env["REDIS_URL"], env["REDIS_CLUSTER"]) == ("redis://127.0.0.1:7000/0", "true")
    env = app_environment({"redis": "redis://127.0.0.1:6379/0"})
    assert (env["REDIS_URL"], env["REDIS_CLUSTER"]) == ("redis://127.0.0.1:6379/0", "false")
    assert "REDIS_CLUSTER" not in app_environment({"kafka": "127.0.0.1:9092"})
