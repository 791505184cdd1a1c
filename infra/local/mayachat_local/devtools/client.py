"""A terminal chat client for one room, over the WebSocket protocol (docs/protocol.md).

    python -m mayachat_local.devtools.client --user alice --room ROOM_ID
    python -m mayachat_local.devtools.client --room ROOM_ID --url wss://.../prod --token "$JWT"

Connects (locally: to .local/endpoints.json's websocket URL, with a dev token minted for
--user), syncs the room, prints every frame readably, and sends each line typed as a message
with a fresh clientMsgId. At the end of input (Ctrl-D, or a pipe closing) it waits for the
acks of what it sent, then exits. Lines starting with "/": /typing, /stop, /quit.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import sys
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

ACK_WAIT_SECONDS = 15.0
RESYNC_SECONDS = 0.3  # sync again this soon while the answer says caughtUp: false


def default_url(state_dir: Path | None = None) -> str:
    """The local gateway's URL, as `make dev` wrote it to .local/endpoints.json."""
    from mayachat_local.config import StackConfig

    path = state_dir / "endpoints.json" if state_dir else StackConfig.from_env().endpoints_file
    try:
        return str(json.loads(path.read_text())["websocket"])
    except (OSError, ValueError, KeyError):
        return "ws://127.0.0.1:3001/local"


def token_subject(token: str) -> str:
    """The `sub` of a JWT, unverified (only to show who we are)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return str(claims.get("sub", "?"))
    except (IndexError, ValueError):
        return "?"


def clock(iso: str | None = None) -> str:
    """HH:MM:SS in local time, of an ISO timestamp (or now)."""
    if iso:
        try:
            return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone().strftime("%X")
        except ValueError:
            pass
    return time.strftime("%X")


class RoomClient:
    def __init__(self, ws: ClientConnection, me: str, room: str, out: TextIO) -> None:
        self.ws = ws
        self.me = me
        self.room = room
        self.out = out
        self.pending: dict[str, str] = {}  # clientMsgId -> text, until acked
        self.seen: set[str] = set()  # messageIds: dedupe sync and live
        self.read_up_to = 0
        # The catch-up cursor: only what sync answered moves it, never a live message (a
        # live seq can be ahead of one still on its way; see docs/protocol.md).
        self.synced_up_to = 0
        self._lock = threading.Lock()
        self._acked = threading.Condition(self._lock)

    # ---------------------------------------------------------------- output
    def say(self, line: str) -> None:
        with self._lock:
            print(line, file=self.out, flush=True)

    def show(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "message":
            self._messages([frame["message"]])
        elif kind == "sync":
            messages = frame.get("messages", [])
            self._messages(messages)
            if messages:
                self.synced_up_to = max(self.synced_up_to, int(messages[-1].get("seq", 0)))
            if frame.get("final"):
                if frame.get("hasMore"):
                    self.sync()
                elif frame.get("caughtUp") is False:  # more on its way into the store
                    threading.Timer(RESYNC_SECONDS, self.sync).start()
                else:
                    self.say(f"-- synced {self.room} up to #{self.read_up_to} --")
        elif kind == "ack":
            with self._lock:
                text = self.pending.pop(frame.get("clientMsgId", ""), None)
                self.seen.add(frame.get("messageId", ""))
                self._acked.notify_all()
            self.say(
                f"[{clock(frame.get('createdAt'))}] {self.me}: {text if text is not None else ''}"
                f"  ✓ #{frame.get('seq')}"
            )
        elif kind == "receipt":
            if frame.get("userId") != self.me:
                self.say(
                    f"[{clock(frame.get('at'))}] {frame.get('userId')} "
                    f"{frame.get('kind')} up to #{frame.get('upToSeq')}"
                )
        elif kind == "typing":
            doing = "is typing…" if frame.get("isTyping") else "stopped typing"
            self.say(f"[{clock()}] {frame.get('userId')} {doing}")
        elif kind == "error":
            cmid = frame.get("clientMsgId")
            if cmid and frame.get("code") in ("not_a_member", "invalid_field", "too_long"):
                with self._lock:
                    self.pending.pop(cmid, None)
                    self._acked.notify_all()
            self.say(f"! error {frame.get('code')}: {frame.get('message')}")
        elif kind != "pong":
            self.say(f"? {json.dumps(frame)}")

    def _messages(self, messages: list[dict[str, Any]]) -> None:
        highest = 0
        for m in sorted(messages, key=lambda m: int(m.get("seq", 0))):
            if m.get("roomId") != self.room or m.get("messageId") in self.seen:
                continue
            self.seen.add(m["messageId"])
            text = (m.get("content") or {}).get("text", "")
            self.say(f"[{clock(m.get('createdAt'))}] {m.get('senderId')}: {text}")
            highest = max(highest, int(m.get("seq", 0)))
        if highest > self.read_up_to:
            self.read_up_to = highest
            self.send({"action": "markRead", "roomId": self.room, "upToSeq": highest})

    # ---------------------------------------------------------------- input
    def sync(self) -> None:
        self.send({"action": "sync", "roomId": self.room, "afterSeq": self.synced_up_to})

    def send(self, frame: dict[str, Any]) -> None:
        with contextlib.suppress(ConnectionClosed):  # the receiver reports the close
            self.ws.send(json.dumps(frame))

    def send_text(self, text: str) -> None:
        cmid = uuid.uuid4().hex
        with self._lock:
            self.pending[cmid] = text
        self.send(
            {
                "action": "sendMessage",
                "roomId": self.room,
                "clientMsgId": cmid,
                "content": {"type": "text", "text": text},
            }
        )

    def line(self, line: str) -> bool:
        """Handle one typed line; False to stop."""
        text = line.rstrip("\r\n")
        if text in ("/quit", "/exit"):
            return False
        if text in ("/typing", "/stop"):
            self.send({"action": "typing", "roomId": self.room, "isTyping": text == "/typing"})
        elif text.strip():
            self.send_text(text)
        return True

    def wait_for_acks(self, timeout: float) -> bool:
        with self._acked:
            return self._acked.wait_for(lambda: not self.pending, timeout)

    def receive(self) -> None:
        try:
            for raw in self.ws:
                try:
                    frame = json.loads(raw)
                except ValueError:
                    self.say(f"? {raw!r}")
                    continue
                self.show(frame)
        except ConnectionClosed:
            pass
        self.say(f"-- disconnected ({self.ws.close_code} {self.ws.close_reason or ''}) --")
        with self._lock:
            self._acked.notify_all()


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m mayachat_local.devtools.client", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--user", help="local user id (a dev token is minted for it)")
    parser.add_argument("--room", required=True, help="the room id")
    parser.add_argument("--url", help="WebSocket URL (default: .local/endpoints.json)")
    parser.add_argument("--token", help="a JWT (required against a deployed stage)")
    parser.add_argument("--after", type=int, default=0, help="sync from this seq (default 0)")
    args = parser.parse_args(argv)
    if not args.user and not args.token:
        parser.error("give --user (local dev token) or --token")
    return args


def main(argv: list[str] | None = None, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.token:
        token = args.token
    else:
        from mayachat_local.devtools.devauth import mint

        token = mint(args.user)
    me = args.user or token_subject(token)
    url = args.url or default_url()
    separator = "&" if "?" in url else "?"
    try:
        ws = connect(f"{url}{separator}token={token}", open_timeout=20, compression=None)
    except Exception as exc:
        print(f"cannot connect to {url}: {exc}", file=sys.stderr)
        return 1
    with ws:
        client = RoomClient(ws, me, args.room, out)
        client.say(f"-- connected to {url} as {me}; room {args.room}; type to send --")
        receiver = threading.Thread(target=client.receive, name="receiver", daemon=True)
        receiver.start()
        client.synced_up_to = args.after
        client.sync()
        try:
            for line in stdin:
                if not client.line(line) or not receiver.is_alive():
                    break
        except KeyboardInterrupt:
            pass
        if client.pending and not client.wait_for_acks(ACK_WAIT_SECONDS):
            client.say(f"! {len(client.pending)} message(s) not acked")
            return 1
    receiver.join(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
