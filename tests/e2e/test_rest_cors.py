"""A browser calling the REST API from another origin (issue #14): its preflight must not
meet the JWT authorizer. Debian's chromium, a page on one port, the local HTTP API (which
applies template.yaml's routes, authorizer and CorsConfiguration as API Gateway does) on
another."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from mayachat_local.devtools.devauth import mint
from mayachat_local.devtools.threaded import run_in_thread
from mayachat_local.gateway.server import LocalWebSocketGateway
from mayachat_local.http_api.server import LocalHttpApi
from mayachat_local.stack import function_environment

from .conftest import E2E_ENV, TEMPLATE

# What a web client does: an authenticated GET, which makes the browser send a preflight.
CALL = """async ([url, token]) => {
  try {
    const res = await fetch(url, {headers: {Authorization: "Bearer " + token}});
    return {status: res.status, body: await res.text()};
  } catch (error) {
    return {failed: String(error)};
  }
}"""


@pytest.fixture(scope="module")
def rest(gateway: LocalWebSocketGateway, stack_endpoints: dict[str, str]) -> Iterator[LocalHttpApi]:
    env = {
        **function_environment(stack_endpoints),
        **E2E_ENV,
        "WEBSOCKET_MANAGEMENT_ENDPOINT": gateway.management_endpoint,
    }
    with run_in_thread(LocalHttpApi(TEMPLATE, port=0, env_overrides=env)) as api:
        yield api


@pytest.fixture(scope="module")
def web_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A page served from another port: another origin than the API's."""
    root = tmp_path_factory.mktemp("web")
    (root / "index.html").write_text("<!doctype html><title>web client</title>")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def call_from_browser(browser: Any, origin: str, url: str, user: str) -> dict[str, Any]:
    page = browser.new_page()
    try:
        page.goto(f"{origin}/index.html")
        result: dict[str, Any] = page.evaluate(CALL, [url, mint(user)])
        return result
    finally:
        page.close()


def test_a_browser_on_another_origin_calls_an_authenticated_route(
    browser: Any, rest: LocalHttpApi, web_origin: str, users: Any
) -> None:
    result = call_from_browser(browser, web_origin, f"{rest.url}/api/rooms", users("alice"))
    assert result.get("status") == 200, result
    assert '"rooms"' in result["body"]


def test_without_the_preflight_route_the_authorizer_refuses_the_preflight(
    browser: Any, rest: LocalHttpApi, web_origin: str, users: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the OPTIONS route is for: ANY /api/{proxy+} takes the preflight, its authorizer
    refuses it (no token), and the browser never sends the call."""
    monkeypatch.setattr(rest, "routes", [r for r in rest.routes if r.method != "OPTIONS"])
    result = call_from_browser(browser, web_origin, f"{rest.url}/api/rooms", users("alice"))
    assert "failed" in result, result  # a CORS failure: fetch rejects
