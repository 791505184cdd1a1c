"""The web demo (served by the local HTTP API only) in a real browser: Debian's chromium,
driven by Playwright. Two pages, two users: create a room, chat both ways, typing, a read
tick, a dropped socket that reconnects and syncs what it missed, and a user away who sees
the pushes their phone would have shown; edits, deletions, reactions and a photo, live and
caught up after a drop; a group's owner deleting a member's message, and a refusal shown.

Screenshots: .local/test-artifacts/web-demo-*.png."""

from __future__ import annotations

import contextlib
import struct
import zlib
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


@pytest.fixture(scope="module")
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


@contextlib.contextmanager
def _signed_in(
    browser: Any, url: str, artifacts: Path, users: tuple[str, str], viewport: tuple[int, int]
) -> Iterator[tuple[Any, Any]]:
    """Two pages of one browser context, signed in as the two users. The test fails on any
    uncaught error in a page; on a failure each page's log and a screenshot are kept."""
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    context.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    try:
        pages = context.new_page(), context.new_page()
        for page, user in zip(pages, users, strict=True):
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            _sign_in(page, url, user)
        yield pages
        assert errors == []
    except Exception:
        for i, page in enumerate(context.pages):  # what the pages said, for the report
            print(page.url, "log:", page.locator("#log").text_content(), "errors:", errors)
            page.screenshot(path=artifacts / f"web-demo-failed-{i}.png")
        raise
    finally:
        context.close()


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
    with _signed_in(browser, demo_api.url, artifacts, (alice, bob), (1000, 640)) as (
        page_a,
        page_b,
    ):
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


def test_a_user_away_sees_the_pushes_their_phone_would_have_shown(
    demo_api: LocalHttpApi, notify: Any, browser: Any, users: Any, artifacts: Path
) -> None:
    alice, bob = users("alice"), users("bob")
    with _signed_in(browser, demo_api.url, artifacts, (alice, bob), (1200, 640)) as (
        page_a,
        page_b,
    ):
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


def _png(width: int, height: int) -> bytes:
    """A tiny one-colour PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    rows = b"".join(b"\x00" + b"\xd9\x46\x30" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _by_id(page: Any, message_id: str) -> Any:
    return page.locator(f'#messages .msg[data-message-id="{message_id}"]')


def _menu(message: Any, action: str) -> None:
    """Open a message's menu and pick `action` (a CSS selector inside it)."""
    message.locator("button.more").click()
    message.locator(f".menu {action}").click()


def _send(page: Any, text: str) -> str:
    """Send a text from the composer; its messageId once acked."""
    page.fill("#text", text)
    page.press("#text", "Enter")
    sent = _message(page, text, mine=True).and_(page.locator("[data-seq]"))
    sent.wait_for()
    message_id = sent.get_attribute("data-message-id")
    assert message_id
    return str(message_id)


def _chip(message: Any, emoji: str, count: int) -> Any:
    return message.locator(f'.chip[data-emoji="{emoji}"][data-count="{count}"]')


def test_edits_deletions_reactions_and_a_photo_in_the_browser(
    demo_api: LocalHttpApi, browser: Any, users: Any, artifacts: Path
) -> None:
    alice, bob = users("alice"), users("bob")
    with _signed_in(browser, demo_api.url, artifacts, (alice, bob), (1000, 700)) as (
        page_a,
        page_b,
    ):
        _direct_room(page_a, bob)
        room_id = page_a.locator(".room.open").get_attribute("data-room-id")

        # alice edits her message in the composer: bob sees the new text, marked edited.
        plan = _send(page_a, "see you at 7")
        bob_room = page_b.locator(f'.room[data-room-id="{room_id}"]')
        bob_room.click()  # listed once the message arrived
        _message(page_b, "see you at 7").wait_for()
        _menu(_by_id(page_a, plan), "button.edit")
        assert page_a.input_value("#text") == "see you at 7"
        page_a.fill("#text", "see you at 8")
        page_a.press("#text", "Enter")
        for page in (page_b, page_a):
            _by_id(page, plan).filter(has_text="see you at 8").locator(".edited").wait_for()
            assert "see you at 7" not in _by_id(page, plan).text_content()

        # bob reacts 👍 from the menu: alice sees one, and who; she adds hers with the chip.
        _menu(_by_id(page_b, plan), '.pick[data-emoji="👍"]')
        chip = _chip(_by_id(page_a, plan), "👍", 1)
        chip.wait_for()
        assert chip.get_attribute("title") == bob
        chip.click()
        two = _chip(_by_id(page_b, plan), "👍", 2)
        two.wait_for()
        assert set(two.get_attribute("title").split(", ")) == {alice, bob}
        assert two.get_attribute("aria-pressed") == "true"  # bob's own is among them
        two.click()  # bob takes his back
        _chip(_by_id(page_a, plan), "👍", 1).and_(page_a.locator(f'[title="{alice}"]')).wait_for()

        # alice deletes a message for everyone: its text is gone from bob's page too.
        oops = _send(page_a, "oops, wrong room")
        _message(page_b, "oops, wrong room").wait_for()
        page_a.once("dialog", lambda dialog: dialog.accept())
        _menu(_by_id(page_a, oops), "button.delete")
        for page in (page_b, page_a):
            _by_id(page, oops).locator(".deleted", has_text="message deleted").wait_for()
            assert "oops" not in _by_id(page, oops).text_content()
            assert _by_id(page, oops).locator("button.more").count() == 0

        # alice attaches a photo: uploaded to S3 with the presigned form, bob's page shows it
        # from the download URL REST gives him.
        page_a.set_input_files(
            "#file", files=[{"name": "dot.png", "mimeType": "image/png", "buffer": _png(40, 30)}]
        )
        shown = page_b.locator("#messages .msg img.photo")
        shown.wait_for()
        page_b.wait_for_function(
            "() => { const img = document.querySelector('#messages .msg img.photo');"
            " return img.complete && img.naturalWidth === 40 && img.naturalHeight === 30; }"
        )
        assert shown.get_attribute("alt") == "dot.png"
        assert shown.get_attribute("src").startswith("http")  # S3's URL, not alice's file
        assert shown.evaluate("img => img.style.width") == "40px"  # sent with its size
        photo_msg = page_a.locator("#messages .msg.mine[data-seq]", has=page_a.locator("img"))
        photo_msg.wait_for()
        last_seq = int(photo_msg.get_attribute("data-seq"))
        page_b.screenshot(path=artifacts / "web-demo-7-bob-changes-and-photo.png")

        # bob opens the demo afresh: REST history and sync give the messages as they are now,
        # and put his catch-up cursor past them.
        _sign_in(page_b, demo_api.url, bob)
        bob_room.click()
        _by_id(page_b, plan).filter(has_text="see you at 8").locator(".edited").wait_for()
        assert _chip(_by_id(page_b, plan), "👍", 1).get_attribute("title") == alice
        _by_id(page_b, oops).locator(".deleted").wait_for()
        page_b.locator("#messages .msg img.photo").wait_for()
        page_b.wait_for_function(
            "([room, seq]) => window.demo.state.rooms.get(room).syncedUpTo >= seq",
            arg=[room_id, last_seq],
        )

        # While bob is offline alice edits again and reacts: his sync from the cursor brings
        # the message back among the `updates`, as it is now.
        page_b.evaluate("window.demo.holdReconnect = true")
        page_b.click("#drop")
        page_b.wait_for_selector('#status[data-state="reconnecting"]')
        _menu(_by_id(page_a, plan), "button.edit")
        page_a.fill("#text", "see you at 9")
        page_a.press("#text", "Enter")
        _menu(_by_id(page_a, plan), '.pick[data-emoji="🎉"]')
        settled = _by_id(page_a, plan).filter(has_text="see you at 9")
        _chip(settled, "🎉", 1).wait_for()
        page_a.wait_for_function(
            "room => window.demo.state.rooms.get(room).outbox.length === 0", arg=room_id
        )
        assert "see you at 9" not in _by_id(page_b, plan).text_content()
        page_b.evaluate("window.demo.holdReconnect = false")
        page_b.wait_for_selector('#status[data-state="online"]')
        caught_up = _by_id(page_b, plan).filter(has_text="see you at 9")
        _chip(caught_up, "🎉", 1).wait_for()
        assert _chip(caught_up, "👍", 1).count() == 1
        assert caught_up.locator(".edited").count() == 1
        page_b.screenshot(path=artifacts / "web-demo-8-bob-caught-up.png")


def test_a_group_owner_deletes_a_members_message_and_a_refusal_reads_clearly(
    demo_api: LocalHttpApi, browser: Any, users: Any, artifacts: Path
) -> None:
    olga, mo, pat = users("olga"), users("mo"), users("pat")
    with _signed_in(browser, demo_api.url, artifacts, (olga, mo), (1000, 640)) as (page_o, page_m):
        page_o.select_option("#new-type", "group")  # olga creates it: its owner
        page_o.fill("#new-members", f"{mo}, {pat}")
        page_o.fill("#new-name", "team")
        page_o.click("#create")
        page_o.wait_for_selector("#room:not([hidden])")
        room_id = page_o.locator(".room.open").get_attribute("data-room-id")
        welcome = _send(page_o, "welcome, team")
        page_m.locator(f'.room[data-room-id="{room_id}"]').click()
        spam = _send(page_m, "buy cheap watches")
        _message(page_o, "buy cheap watches").wait_for()

        # mo, a plain member, is offered neither edit nor delete on olga's message.
        _by_id(page_m, welcome).locator("button.more").click()
        menu = _by_id(page_m, welcome).locator(".menu")
        menu.locator(".pick").first.wait_for()
        assert menu.locator("button.edit, button.delete").count() == 0

        # olga moderates: she deletes mo's message, which both pages show deleted.
        page_o.once("dialog", lambda dialog: dialog.accept())
        _menu(_by_id(page_o, spam), "button.delete")
        gone = _by_id(page_m, spam).locator(".deleted")
        gone.wait_for()
        assert gone.get_attribute("title") == f"deleted by {olga}"

        # Were mo to try on olga's message, the server's not_yours reads as a sentence.
        page_m.evaluate("([room, id]) => window.demo.deleteMessage(room, id)", [room_id, welcome])
        page_m.locator(
            "#notice", has_text="could not delete the message: that is not your message"
        ).wait_for()
        assert "not_yours" in page_m.locator("#notice").text_content()
        kept = page_m.locator(
            f'#messages .msg[data-message-id="{welcome}"]:not([data-change-pending])'
        )
        kept.filter(has_text="welcome, team").wait_for()  # no longer shown as pending
        assert kept.locator(".deleted").count() == 0
        assert _message(page_o, "welcome, team").count() == 1
        page_m.screenshot(path=artifacts / "web-demo-9-refused.png")


def _presence_of(page: Any, user: str) -> Any:
    return page.locator(f'#room-presence .member[data-user-id="{user}"]')


def test_presence_dot_and_last_seen_in_the_browser(
    demo_api: LocalHttpApi, presence_pushes: Any, browser: Any, users: Any, artifacts: Path
) -> None:
    """bob sees alice online, then (pushed) last seen when she goes away, then online again
    when she comes back; once bob hides his presence, both see the other only as offline."""
    alice, bob = users("alice"), users("bob")
    with _signed_in(browser, demo_api.url, artifacts, (alice, bob), (1000, 640)) as (
        page_a,
        page_b,
    ):
        _direct_room(page_a, bob)
        _send(page_a, "are you there?")
        page_b.locator(".room").first.click()
        _message(page_b, "are you there?").wait_for()

        # Asked on opening the room: alice is online (the dot in the list too).
        _presence_of(page_b, alice).and_(page_b.locator(":text-is('online')")).wait_for()
        page_b.locator('#room-presence .dot[data-online="true"]').wait_for()
        page_b.locator('.room .dot[data-online="true"]').wait_for()
        _presence_of(page_a, bob).and_(page_a.locator(":text-is('online')")).wait_for()

        # alice goes away: bob is told (a push, after the debounce), with when she was last seen.
        page_a.click("#away")
        page_a.wait_for_selector('#status[data-state="away"]')
        _presence_of(page_b, alice).filter(has_text="last seen today at").wait_for()
        page_b.locator('#room-presence .dot[data-online="false"]').wait_for()
        page_b.screenshot(path=artifacts / "web-demo-presence-1-last-seen.png")

        # She comes back: pushed online again.
        page_a.click("#away")
        page_a.wait_for_selector('#status[data-state="online"]')
        _presence_of(page_b, alice).and_(page_b.locator(":text-is('online')")).wait_for()

        # bob hides: alice sees him offline with no last seen; bob sees alice so too.
        page_b.click("#hide")
        page_b.locator('#hide[aria-pressed="true"]').wait_for()
        _presence_of(page_b, alice).and_(page_b.locator(":text-is('offline')")).wait_for()
        _presence_of(page_a, bob).and_(page_a.locator(":text-is('offline')")).wait_for()
        page_a.screenshot(path=artifacts / "web-demo-presence-2-hidden.png")

        # A reload keeps the setting (it is the server's) and asks again.
        _sign_in(page_b, demo_api.url, bob)
        page_b.locator('#hide[aria-pressed="true"]').wait_for()
        page_b.locator(".room").first.click()
        _presence_of(page_b, alice).and_(page_b.locator(":text-is('offline')")).wait_for()
        page_b.click("#hide")
        _presence_of(page_b, alice).and_(page_b.locator(":text-is('online')")).wait_for()
        _presence_of(page_a, bob).and_(page_a.locator(":text-is('online')")).wait_for()
