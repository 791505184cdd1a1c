"""Phones: each sends messages to its rooms with a fresh clientMsgId per message, and resends
the same clientMsgId on `unavailable`/`internal_error`, on no answer within a timeout, and
across dropped sockets (reconnecting with a new token), as docs/protocol.md tells clients to.
Every ack that arrives is recorded, whenever it arrives."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import ClientConnection, connect

from mayachat_local.chaos.config import RunConfig
from mayachat_local.devtools.devauth import mint

RETRYABLE = ("unavailable", "internal_error")
# Errors without a clientMsgId: a phone has one frame outstanding, so they are its answer.
UNTAGGED = ("internal_error", "rate_limited")


@dataclass
class Send:
    """One message a phone sent (its first send and every resend of its clientMsgId)."""

    sender: str
    room: str
    client_msg_id: str
    first_sent: float  # time.monotonic()
    tries: int = 0
    outcome: str = "pending"  # acked | gave up | refused <code>
    finished: float | None = None  # when the phone stopped trying (acked, refused, gave up)
    answers: list[str] = field(default_factory=list)  # what each try got: ack, timeout, ...


@dataclass(frozen=True)
class Ack:
    sender: str
    client_msg_id: str
    message_id: str
    room: str
    seq: int
    at: float  # time.monotonic() when it arrived


class Recorder:
    """Everything the workload saw, for the checker; safe to use from every phone thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sends: list[Send] = []
        self.acks: list[Ack] = []

    def add_send(self, send: Send) -> None:
        with self._lock:
            self.sends.append(send)

    def add_ack(self, ack: Ack) -> None:
        with self._lock:
            self.acks.append(ack)

    def acked_senders(self) -> set[str]:
        with self._lock:
            return {a.sender for a in self.acks}


class Phone(threading.Thread):
    def __init__(
        self,
        user: str,
        rooms: list[str],
        url: str,
        recorder: Recorder,
        run: RunConfig,
        stopping: threading.Event,
    ) -> None:
        super().__init__(name=f"phone-{user}", daemon=True)
        self.user = user
        self.rooms = rooms
        self.url = url
        self.recorder = recorder
        self.config = run
        self.stopping = stopping
        self.ws: ClientConnection | None = None
        self.connects = 0
        self.connect_failures = 0

    def run(self) -> None:
        n = 0
        try:
            while not self.stopping.is_set():
                self.send_one(self.rooms[n % len(self.rooms)], n)
                n += 1
                if n % self.config.reconnect_every == 0:
                    self._drop()  # a network change: the next send opens a new socket
                self.stopping.wait(self.config.pace)
        finally:
            self._drop()

    def send_one(self, room: str, n: int) -> Send:
        cfg = self.config
        send = Send(self.user, room, f"{self.user}.{n}.{uuid.uuid4().hex[:8]}", time.monotonic())
        self.recorder.add_send(send)
        frame = json.dumps(
            {
                "action": "sendMessage",
                "roomId": room,
                "clientMsgId": send.client_msg_id,
                "content": {"type": "text", "text": f"message {n} from {self.user}"},
            }
        )
        deadline = send.first_sent + cfg.give_up_after
        while send.tries < cfg.max_tries and time.monotonic() < deadline:
            ws = self.ws or self._connect(deadline)
            if ws is None:
                break
            try:
                ws.send(frame)
            except (ConnectionClosed, OSError):
                self._drop()
                continue
            send.tries += 1
            wait = min(cfg.ack_timeout, max(0.1, deadline - time.monotonic()))
            answer = self._await_answer(ws, send, wait)
            send.answers.append(answer)
            if answer == "ack" or answer.startswith("refused"):
                send.outcome = "acked" if answer == "ack" else answer
                send.finished = time.monotonic()
                return send
            if answer == "closed":
                self._drop()
            elif answer == "rate_limited":
                time.sleep(1.0)
            elif answer in RETRYABLE:
                time.sleep(min(2.0, 0.25 * send.tries))
        send.outcome = "gave up"
        send.finished = time.monotonic()
        return send

    def _await_answer(self, ws: ClientConnection, send: Send, timeout: float) -> str:
        """ack, one of the error codes, refused <code>, timeout or closed."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout"
            try:
                raw = ws.recv(timeout=remaining)
            except TimeoutError:
                return "timeout"
            except (ConnectionClosed, OSError):
                return "closed"
            frame = _parse(raw)
            kind = frame.get("type")
            if kind == "ack":
                self._record_ack(frame)
                if frame.get("clientMsgId") == send.client_msg_id:
                    return "ack"
            elif kind == "error":
                code = str(frame.get("code"))
                tagged = frame.get("clientMsgId")
                if tagged == send.client_msg_id or (tagged is None and code in UNTAGGED):
                    return code if code in (*RETRYABLE, "rate_limited") else f"refused {code}"

    def _record_ack(self, frame: dict[str, Any]) -> None:
        try:
            ack = Ack(
                sender=self.user,
                client_msg_id=str(frame["clientMsgId"]),
                message_id=str(frame["messageId"]),
                room=str(frame["roomId"]),
                seq=int(frame["seq"]),
                at=time.monotonic(),
            )
        except (KeyError, TypeError, ValueError):
            return
        self.recorder.add_ack(ack)

    def _connect(self, deadline: float) -> ClientConnection | None:
        """A new socket with a new token; retried with backoff until `deadline`."""
        delay = 0.25
        while time.monotonic() < deadline:
            try:
                self.ws = connect(
                    f"{self.url}?token={mint(self.user)}", open_timeout=10, close_timeout=2
                )
            except (OSError, InvalidHandshake, TimeoutError):
                self.connect_failures += 1
                time.sleep(delay)
                delay = min(2.0, delay * 2)
                continue
            self.connects += 1
            return self.ws
        return None

    def _drop(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):  # a socket already broken: nothing to do
                self.ws.close()
            self.ws = None


def _parse(raw: str | bytes) -> dict[str, Any]:
    try:
        frame = json.loads(raw)
    except ValueError:
        return {}
    return frame if isinstance(frame, dict) else {}
