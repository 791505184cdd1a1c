"""Catch-up readers: a room's member that only ever reads from its own cursor, as an offline
phone does on reconnect. The cursor starts at 0 and moves only to the highest seq that a
catch-up answer returned (never from live `message` frames); every messageId returned is
kept, so the checker can tell which acked messages a reader never got.

- SyncReader: WebSocket `sync` with `afterSeq=cursor`, paging on `hasMore`;
- RestReader: REST `GET /api/messages/room/{roomId}?after=cursor`, paging on `hasMore`.

Each polls every `interval` until told to finish, then keeps catching up until its cursor
reaches `target` (the highest seq MongoDB holds for the room once everything settled: what a
patient client eventually sees; a server may hold back recent seqs for a while) or a minute
passes.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import ClientConnection, connect

from mayachat_local.devtools.devauth import mint

PAGE = 100
ANSWER_TIMEOUT = 10.0
FINAL_CATCH_UP_SECONDS = 60.0
MAX_PAGES = 500  # per catch-up: far more than a run writes


@dataclass(frozen=True)
class Seen:
    message_id: str
    seq: int
    sender: str
    client_msg_id: str


class Reader(threading.Thread):
    kind = "reader"

    def __init__(self, user: str, room: str, interval: float) -> None:
        super().__init__(name=f"{self.kind}-{room}", daemon=True)
        self.user = user
        self.room = room
        self.interval = interval
        self.cursor = 0
        self.returned: dict[str, Seen] = {}  # messageId -> what the answer said
        self.errors = 0
        self.final_complete = False
        self.target: int | None = None  # set before `finishing`
        self.finishing = threading.Event()

    @property
    def label(self) -> str:
        return f"{self.kind} {self.room}"

    def run(self) -> None:
        try:
            while not self.finishing.is_set():
                self.catch_up()
                self.finishing.wait(self.interval)
            deadline = time.monotonic() + FINAL_CATCH_UP_SECONDS
            while time.monotonic() < deadline and not self.final_complete:
                ended = self.catch_up()
                self.final_complete = ended and self.cursor >= (self.target or 0)
                if not self.final_complete:
                    time.sleep(self.interval)
        finally:
            self.close()

    def catch_up(self) -> bool:
        """Read pages after the cursor until one says there is no more: True if it got there."""
        for _ in range(MAX_PAGES):
            page = self.page()
            if page is None:
                self.errors += 1
                return False
            messages, has_more = page
            for m in messages:
                seen = Seen(
                    str(m["messageId"]), int(m["seq"]), str(m["senderId"]), str(m["clientMsgId"])
                )
                self.returned.setdefault(seen.message_id, seen)
            if messages:
                self.cursor = max(self.cursor, *(int(m["seq"]) for m in messages))
            if not has_more:
                return True
        return False

    def page(self) -> tuple[list[dict[str, Any]], bool] | None:
        """The messages after the cursor and whether there are more; None on a failure."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class SyncReader(Reader):
    kind = "sync"

    def __init__(self, user: str, room: str, interval: float, url: str) -> None:
        super().__init__(user, room, interval)
        self.url = url
        self.ws: ClientConnection | None = None

    def page(self) -> tuple[list[dict[str, Any]], bool] | None:
        try:
            ws = self.ws or self._connect()
            ws.send(
                json.dumps(
                    {"action": "sync", "roomId": self.room, "afterSeq": self.cursor, "limit": PAGE}
                )
            )
            return self._answer(ws)
        except (ConnectionClosed, OSError, InvalidHandshake, TimeoutError):
            self.close()
            return None

    def _answer(self, ws: ClientConnection) -> tuple[list[dict[str, Any]], bool] | None:
        """The `sync` frames of one answer, up to the one with `final: true`."""
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while True:
            raw = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
            try:
                frame = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(frame, dict):
                continue
            if frame.get("type") == "error":
                return None  # internal_error, rate_limited: try again at the next poll
            if frame.get("type") != "sync" or frame.get("roomId") != self.room:
                continue  # live frames: never used for the cursor
            messages += frame.get("messages") or []
            if frame.get("final"):
                return messages, bool(frame.get("hasMore"))

    def _connect(self) -> ClientConnection:
        self.ws = connect(f"{self.url}?token={mint(self.user)}", open_timeout=10, close_timeout=2)
        return self.ws

    def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):  # a socket already broken: nothing to do
                self.ws.close()
            self.ws = None


class RestReader(Reader):
    kind = "rest"

    def __init__(self, user: str, room: str, interval: float, base_url: str) -> None:
        super().__init__(user, room, interval)
        self.client = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {mint(user)}"},
            timeout=ANSWER_TIMEOUT,
        )

    def page(self) -> tuple[list[dict[str, Any]], bool] | None:
        try:
            response = self.client.get(
                f"/api/messages/room/{self.room}", params={"after": self.cursor, "limit": PAGE}
            )
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        body = response.json()
        return list(body.get("messages") or []), bool(body.get("hasMore"))

    def close(self) -> None:
        self.client.close()
