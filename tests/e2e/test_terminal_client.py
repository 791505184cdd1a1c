"""The terminal client (`python -m mayachat_local.devtools.client`) as a user runs it, with
its stdin a pipe, against the e2e gateway; bob is a plain WebSocket client. Chat, errors,
edits, deletions and reactions both ways, catch-up of changes, and a file over REST."""

from __future__ import annotations

import contextlib
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from mayachat_local.gateway.server import LocalWebSocketGateway
from mayachat_local.http_api.server import LocalHttpApi

from .conftest import Client, bearer
from .test_message_changes import change, edit, react

CLIENT = [sys.executable, "-m", "mayachat_local.devtools.client"]


@contextlib.contextmanager
def _session(proc: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    """The client while the test types: at the end its input closes, and it must exit 0
    (having waited for its acks); if the test fails first, it is killed."""
    try:
        yield proc
        assert proc.stdin is not None
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _lines(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _expect(lines: queue.Queue[str], needle: str, seen: list[str], timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        for line in seen:
            if needle in line:
                return line
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no line with {needle!r} within {timeout}s; got {seen}")
        try:
            seen.append(lines.get(timeout=remaining))
        except queue.Empty:
            continue


def test_terminal_client_chats(
    gateway: LocalWebSocketGateway,
    phone: Callable[[str], Client],
    new_room: Callable[..., str],
    users: Callable[[str], str],
) -> None:
    alice, bob_id = users("alice"), users("bob")
    room = new_room(alice, bob_id)
    bob = phone(bob_id)
    bob.send_text(room, "before you came")

    proc = subprocess.Popen(
        [*CLIENT, "--user", alice, "--room", room, "--url", gateway.url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
    )
    try:
        lines, seen = _lines(proc), []
        _expect(lines, f"as {alice}", seen)
        assert f"{bob_id}: before you came" in _expect(lines, "before you came", seen)
        _expect(lines, f"-- synced {room} up to #1 --", seen)

        # Reading the synced message sent a read receipt to bob.
        receipt = bob.expect("receipt", userId=alice)
        assert (receipt["kind"], receipt["upToSeq"]) == ("read", 1)

        bob.send({"action": "typing", "roomId": room, "isTyping": True})
        _expect(lines, f"{bob_id} is typing", seen)
        bob.send_text(room, "hi alice")
        line = _expect(lines, "hi alice", seen)
        assert line.startswith("[")
        assert f"] {bob_id}: hi alice" in line

        assert proc.stdin is not None
        proc.stdin.write("hello from the terminal\n")
        proc.stdin.flush()
        ack = _expect(lines, "hello from the terminal", seen)
        assert f"] {alice}: hello from the terminal  ✓ #3" in ack
        got = bob.expect("message")["message"]
        assert (got["senderId"], got["content"]["text"]) == (alice, "hello from the terminal")

        proc.stdin.write("/typing\n")
        proc.stdin.flush()
        assert bob.expect("typing", userId=alice)["isTyping"] is True
        proc.stdin.write("{broken\n")  # just text: sent as a message, acked
        proc.stdin.close()  # end of input: waits for the ack, then exits 0
        assert proc.wait(timeout=30) == 0
        _expect(lines, "{broken  ✓ #4", seen, timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_terminal_client_reports_errors(
    gateway: LocalWebSocketGateway, users: Callable[[str], str]
) -> None:
    result = subprocess.run(
        [*CLIENT, "--user", users("eve"), "--room", "not-my-room", "--url", gateway.url],
        input="let me in\n",
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert "! error not_a_member" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0  # the refused message is no longer pending


def test_terminal_client_needs_a_user_or_token() -> None:
    result = subprocess.run(
        [*CLIENT, "--room", "r"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--user" in result.stderr


def _client(
    gateway: LocalWebSocketGateway, user: str, room: str, *more: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLIENT, "--user", user, "--room", room, "--url", gateway.url, *more],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
    )


def _type(proc: subprocess.Popen[str], line: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


def test_terminal_client_edits_deletes_and_reacts(
    gateway: LocalWebSocketGateway,
    phone: Callable[[str], Client],
    new_room: Callable[..., str],
    users: Callable[[str], str],
) -> None:
    alice, bob_id = users("alice"), users("bob")
    room = new_room(alice, bob_id)
    bob = phone(bob_id)
    with _session(_client(gateway, alice, room)) as proc:
        lines, seen = _lines(proc), list[str]()
        _expect(lines, f"-- synced {room}", seen)

        # bob's message, and his edit of it: printed with its seq, then again marked.
        helo = bob.send_text(room, "helo")
        first = f"#{helo['seq']}"
        assert _expect(lines, "helo", seen).endswith(f"{bob_id}: helo  {first}")
        edit(bob, room, helo["messageId"], "hello")
        _expect(lines, f"{bob_id}: hello  {first} [edited]", seen)

        # alice reacts by seq; bob sees it, and she sees the counts as they change.
        _type(proc, f"/react {first} 👍")
        got = bob.expect("reaction", messageId=helo["messageId"])
        assert (got["userId"], got["emoji"], got["op"], got["counts"]) == (
            alice,
            "👍",
            "add",
            {"👍": 1},
        )
        _expect(lines, f"{alice} reacted 👍 on {first}: 👍 1  ✓", seen)
        react(bob, room, helo["messageId"], "❤️")
        _expect(lines, f"{bob_id} reacted ❤️ on {first}: 👍 1 ❤️ 1", seen)
        _type(proc, f"/unreact {helo['messageId']} 👍")  # by messageId this time
        assert bob.expect("reaction", messageId=helo["messageId"])["counts"] == {"❤️": 1}
        _expect(lines, f"{alice} took back 👍 on {first}: ❤️ 1  ✓", seen)

        # alice edits and deletes her own message; bob gets both.
        _type(proc, "tpyo here")
        ack = _expect(lines, "tpyo here  ✓ #", seen)
        mine = "#" + re.findall(r"✓ #(\d+)", ack)[0]
        sent = bob.expect("message")["message"]
        _type(proc, f"/edit {mine} typo fixed")
        edited = bob.expect("message.edited", messageId=sent["messageId"])
        assert edited["content"] == {"type": "text", "text": "typo fixed"}
        _expect(lines, f"{alice}: typo fixed  {mine} [edited]  ✓", seen)
        _type(proc, f"/delete {mine}")
        assert bob.expect("message.deleted", messageId=sent["messageId"])["deletedBy"] == alice
        _expect(lines, f"{alice}: [deleted]  {mine}  ✓", seen)

        # bob deletes his: the text and reactions are gone from alice's screen.
        change(bob, "deleteMessage", room, helo["messageId"])
        assert _expect(lines, f"[deleted]  {first}", seen).endswith(f"{bob_id}: [deleted]  {first}")

        # Refusals and mistakes are said, and nothing is left waiting for an ack.
        other = bob.send_text(room, "bob's own")
        _expect(lines, "bob's own", seen)
        _type(proc, f"/edit #{other['seq']} mine now")
        assert f"(#{other['seq']})" in _expect(lines, "! error not_yours", seen)
        _type(proc, f"/react {first} 🎉")
        _expect(lines, "! error message_deleted", seen)
        _type(proc, "/delete #9999")
        _expect(lines, "! no message #9999 in this room (yet)", seen)
        _type(proc, f"/react {first}")
        _expect(lines, "! usage: /react #SEQ|MESSAGE_ID EMOJI", seen)


def test_terminal_client_catches_up_on_changes(
    gateway: LocalWebSocketGateway,
    phone: Callable[[str], Client],
    new_room: Callable[..., str],
    users: Callable[[str], str],
) -> None:
    alice, bob_id = users("alice"), users("bob")
    room = new_room(alice, bob_id)
    bob = phone(bob_id)
    old = bob.send_text(room, "see you at 7")
    gone = bob.send_text(room, "never mind")
    newer = bob.send_text(room, "after the cursor")
    edit(bob, room, old["messageId"], "see you at 8")
    react(bob, room, old["messageId"], "🎉")
    change(bob, "deleteMessage", room, gone["messageId"])
    phone(bob_id).catch_up(room, 0)  # all of it stored

    # From a cursor past the first two: they come back among the updates, as they are now.
    with _session(_client(gateway, alice, room, "--after", str(gone["seq"]))) as proc:
        lines, seen = _lines(proc), list[str]()
        _expect(lines, f"-- synced {room}", seen)
        assert _expect(lines, "see you at", seen).endswith(
            f"{bob_id}: see you at 8  #{old['seq']} [edited]  🎉 1"
        )
        _expect(lines, f"{bob_id}: [deleted]  #{gone['seq']}", seen)
        _expect(lines, f"{bob_id}: after the cursor  #{newer['seq']}", seen)
        assert not any("see you at 7" in line or "never mind" in line for line in seen)
        # The update is held: it can be changed by its seq.
        _type(proc, f"/react #{old['seq']} 🎉")
        _expect(lines, f"{alice} reacted 🎉 on #{old['seq']}: 🎉 2  ✓", seen)


def test_terminal_client_attaches_a_file(
    gateway: LocalWebSocketGateway,
    rest_api: LocalHttpApi,
    phone: Callable[[str], Client],
    new_room: Callable[..., str],
    users: Callable[[str], str],
    tmp_path: Path,
) -> None:
    alice, bob_id = users("alice"), users("bob")
    room = new_room(alice, bob_id)
    bob = phone(bob_id)
    menu = tmp_path / "menu.txt"
    menu.write_bytes(b"soup, bread\n")
    with _session(_client(gateway, alice, room, "--rest", rest_api.url)) as proc:
        lines, seen = _lines(proc), list[str]()
        _expect(lines, f"-- synced {room}", seen)
        _type(proc, f"/attach {menu}")
        _expect(lines, f"{alice}: [file menu.txt, 12 B]  ✓ #", seen)
        content = bob.expect("message")["message"]["content"]
        assert {k: content[k] for k in ("type", "name", "size", "mimeType")} == {
            "type": "file",
            "name": "menu.txt",
            "size": 12,
            "mimeType": "text/plain",
        }
        link = httpx.get(
            f"{rest_api.url}/api/rooms/{room}/attachments/{content['attachmentId']}",
            headers=bearer(bob_id),
            timeout=20,
        )
        assert link.status_code == 200, link.text
        assert httpx.get(link.json()["url"], timeout=20).content == b"soup, bread\n"
        _type(proc, f"/attach {tmp_path / 'missing.png'}")
        _expect(lines, "! cannot read", seen)


def test_terminal_client_shows_presence_and_hides_its_own(
    gateway: LocalWebSocketGateway,
    rest_api: LocalHttpApi,
    presence_pushes: object,
    phone: Callable[[str], Client],
    new_room: Callable[..., str],
    users: Callable[[str], str],
) -> None:
    alice, bob_id, carol = users("alice"), users("bob"), users("carol")
    room = new_room(alice, bob_id, carol)
    bob = phone(bob_id)
    with _session(_client(gateway, alice, room, "--rest", rest_api.url)) as proc:
        lines, seen = _lines(proc), list[str]()
        # Asked on connecting: bob is online, carol never came.
        who = _expect(lines, "-- who: ", seen)
        assert f"{bob_id} online" in who
        assert f"{carol} offline --" in who or f"{carol} offline," in who

        # Hiding ours hides theirs from us: asked again, bob is offline without last seen.
        seen.clear()
        _type(proc, "/hide")
        _expect(lines, "-- your presence is hidden --", seen)
        who = _expect(lines, "-- who: ", seen)
        assert f"{bob_id} offline" in who
        assert "last seen" not in who
        seen.clear()
        _type(proc, "/show")
        _expect(lines, "-- your presence is shown --", seen)
        assert f"{bob_id} online" in _expect(lines, "-- who: ", seen)

        # bob's only connection closes: pushed, with when he was last seen.
        seen.clear()
        bob.ws.close()
        _expect(lines, f"] {bob_id} is offline (last seen ", seen)
        _type(proc, "/who")
        assert f"{bob_id} offline (last seen " in _expect(lines, "-- who: ", seen)
