"""The REST app in this process, wired to the real local servers like the REST function."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from mayachat import bootstrap
from mayachat_local.devtools.devauth import mint
from mayachat_local.stack import function_environment


@pytest.fixture(scope="session")
def rest_environment(
    stack_endpoints: dict[str, str],
) -> Iterator[None]:
    env = {
        **function_environment(stack_endpoints),
        # Receipt fan-out has nobody online in these tests; nothing listens here.
        "WEBSOCKET_MANAGEMENT_ENDPOINT": "http://127.0.0.1:9/local",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    bootstrap.reset()
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    bootstrap.reset()


@pytest.fixture(scope="session")
def rest(rest_environment: None) -> TestClient:
    from mayachat.rest.app import create_app

    return TestClient(create_app())


@pytest.fixture
def auth() -> Callable[[str], dict[str, str]]:
    return lambda user: {"Authorization": f"Bearer {mint(user)}"}
