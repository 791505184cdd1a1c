"""The web demo (served by the local HTTP API only) in a real browser: Debian's chromium,
driven by Playwright. Two pages, two users: create a room, chat both ways, typing, a read
tick, a dropped socket that reconnects and syncs what it missed, and a user away who sees
the pushes their phone would have shown.

Screenshots: .local/test-artifacts/web-demo-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mayachat_local.config import StackConfig
from mayachat_local.devtools.threaded import run_in_thread
from mayachat_local.gateway.server import LocalWebSocketGateway
from mayachat_local.http_api.server import LocalHttpApi
from mayachat_local.stack import function_environment

from .conftest import TEMPLATE

TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def demo_api(
    gateway: LocalWebSocketGateway, stack_endpoints: dict[str, str]
) -> Iterator[LocalHttpApi]:
    env = {
        **function_environment(stack_endpoints),
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "WEBSOCKET_MANAGEMENT_ENDPOINT": gateway.management_endpoint,
    }
    api = LocalHttpApi(TEMPLATE, port=0, env_overrides=env, demo=True, websocket_url=gateway.url)
    with run_in_thread(api) as running:
        yield running


@pytest.fixture
def artifacts(stack_config: StackConfig) -> Path:
    folder = stack_config.state_dir / "test-artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("web-demo-*.png"):
        old.unlink()
    return folder


def test_demo_serves_only_its_files_and_mints_tokens(demo_api: LocalHttpApi) -> None:
    import httpx

    with httpx.Client(base_url=demo_api.url, timeout=10) as http:
        page = http.get("/demo/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "app.js" in page.text
        assert http.get("/demo/app.js").headers["content-type"].startswith("text/javascript")
        assert http.get("/demo/../server.py").status_code == 404
        assert http.get("/demo/%2e%2e/server.py").status_code == 404
        config = http.get("/demo/config").json()
        assert config["websocket"].startswith("ws://")
        assert config["rest"] == demo_api.url
        token = http.post("/demo/token", json={"user": "alice"}).json()
        assert token["user"] == "alice"
        rooms = http.get("/api/rooms", headers={"Authorization": f"Bearer {token['token']}"})
        assert rooms.status_code == 200
        assert http.post("/demo/token", json={"user": ""}).status_code == 422
        assert http.post("/demo/token", content=b"nope").status_code == 422


def test_demo_needs_the_flag(stack_endpoints: dict[str, str]) -> None:
    import httpx

    with run_in_thread(LocalHttpApi(TEMPLATE, port=0)) as api:
        assert httpx.get(f"{api.url}/demo/", timeout=10).status_code == 404
        assert httpx.post(f"{api.url}/demo/token", json={"user": "x"}, timeout=10).status_code in (
            404,
            405,
        )


def _sign_in(page: Any, url: str, user: str) -> None:
    page.goto(f"{url}/demo/")
    page.fill("#user", user)
    page.press("#user", "Enter")
    page.wait_for_selector('#status[data-state="online"]')


def _direct_room(page: Any, other: str) -> None:
    page.select_option("#new-type", "direct")
    page.fill("#new-members", other)
    page.click("#create")
    page.wait_for_selector("#room:not([hidden])")


def _message(page: Any, text: str, mine: bool = False) -> Any:
    css = "#messages .msg.mine" if mine else "#messages .msg"
    return page.locator(css, has_text=text)


def test_two_users_chat_in_the_browser(
    demo_api: LocalHttpApi, browser: Any, users: Any, artifacts: Path
) -> None:
    alice, bob = users("alice"), users("bob")
    context = browser.new_context(viewport={"width": 1000, "height": 640})
    context.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    try:
        page_a, page_b = context.new_page(), context.new_page()
        for page in (page_a, page_b):
            page.on("pageerror", lambda exc: errors.append(str(exc)))
        _sign_in(page_a, demo_api.url, alice)
        _sign_in(page_b, demo_api.url, bob)

        # alice creates a direct room with bob and writes first.
        _direct_room(page_a, bob)
        room_id = page_a.locator(".room.open").get_attribute("data-room-id")
        assert room_id
        page_a.fill("#text", "hi bob")
        page_a.press("#text", "Enter")
        _message(page_a, "hi bob", mine=True).and_(page_a.locator("[data-seq]")).wait_for()

        # bob: the new room shows up with one unread message; he opens it.
        bob_room = page_b.locator(f'.room[data-room-id="{room_id}"]')
        bob_room.locator('.unread[data-count="1"]').wait_for(state="attached")
        page_b.screenshot(path=artifacts / "web-demo-1-bob-unread.png")
        bob_room.click()
        _message(page_b, "hi bob").wait_for()

        # alice sees bob's read receipt on her message.
        _message(page_a, "hi bob", mine=True).locator('.tick[data-receipt="read"]').wait_for()

        # bob types (alice sees it), then answers.
        page_b.fill("#text", "hello")
        page_a.locator("#typing", has_text=f"{bob} is typing").wait_for()
        page_b.fill("#text", "hi alice")
        page_b.press("#text", "Enter")
        _message(page_a, "hi alice").wait_for()
        page_a.locator("#typing:empty").wait_for(state="attached")
        _message(page_b, "hi alice", mine=True).locator('.tick[data-receipt="read"]').wait_for()
        page_a.screenshot(path=artifacts / "web-demo-2-alice-chat.png")

        # bob's socket drops (held down while alice writes); he reconnects and syncs.
        page_b.evaluate("window.demo.holdReconnect = true")
        page_b.click("#drop")
        page_b.wait_for_selector('#status[data-state="reconnecting"]')
        page_b.locator("#status", has_text="reconnecting").wait_for()
        page_a.fill("#text", "while you were away")
        page_a.press("#text", "Enter")
        _message(page_a, "while you were away", mine=True).and_(
            page_a.locator("[data-seq]")
        ).wait_for()
        page_b.screenshot(path=artifacts / "web-demo-3-bob-reconnecting.png")
        assert _message(page_b, "while you were away").count() == 0
        page_b.evaluate("window.demo.holdReconnect = false")
        page_b.wait_for_selector('#status[data-state="online"]')
        missed = _message(page_b, "while you were away")
        missed.wait_for()
        assert missed.get_attribute("data-via") == "sync"
        _message(page_a, "while you were away", mine=True).locator(
            '.tick[data-receipt="read"]'
        ).wait_for()
        page_b.screenshot(path=artifacts / "web-demo-4-bob-synced.png")
        page_a.screenshot(path=artifacts / "web-demo-5-alice-read.png")
        assert errors == []
    except Exception:
        for page in context.pages:  # what the pages said, for the failure report
            print(page.url, "log:", page.locator("#log").text_content(), "errors:", errors)
            page.screenshot(path=artifacts / f"web-demo-failed-{context.pages.index(page)}.png")
        raise
    finally:
        context.close()


def test_a_user_away_sees_the_pushes_their_phone_would_have_shown(
    demo_api: LocalHttpApi, notify: Any, browser: Any, users: Any, artifacts: Path
) -> None:
    alice, bob = users("alice"), users("bob")
    context = browser.new_context(viewport={"width": 1200, "height": 640})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page_a, page_b = context.new_page(), context.new_page()
        _sign_in(page_a, demo_api.url, alice)
        _sign_in(page_b, demo_api.url, bob)
        _direct_room(page_a, bob)

        page_b.click("#away")  # the socket closes and stays closed
        page_b.wait_for_selector('#status[data-state="away"]')
        page_a.fill("#text", "dinner at eight?")
        page_a.press("#text", "Enter")
        _message(page_a, "dinner at eight?", mine=True).and_(
            page_a.locator("[data-seq]")
        ).wait_for()
        push = page_b.locator("#pushes .push", has_text="dinner at eight?")
        push.wait_for()
        assert alice in push.locator(".title").text_content()
        page_b.screenshot(path=artifacts / "web-demo-6-bob-push.png")

        page_b.click("#away")  # back: connect, then sync what came meanwhile
        page_b.wait_for_selector('#status[data-state="online"]')
        page_b.locator(".room").first.click()
        _message(page_b, "dinner at eight?").wait_for()
        assert page_b.locator("#pushes .push").count() == 1
    finally:
        context.close()
