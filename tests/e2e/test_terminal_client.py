"""The terminal client (`python -m mayachat_local.devtools.client`) as a user runs it, with
its stdin a pipe, against the e2e gateway; bob is a plain WebSocket client."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from mayachat_local.gateway.server import LocalWebSocketGateway

from .conftest import Client

CLIENT = [sys.executable, "-m", "mayachat_local.devtools.client"]


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
