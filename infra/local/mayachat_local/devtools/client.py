"""A terminal chat client for one room, over the WebSocket protocol (docs/protocol.md).

    python -m mayachat_local.devtools.client --user alice --room ROOM_ID
    python -m mayachat_local.devtools.client --room ROOM_ID --url wss://.../prod --token "$JWT"

Connects (locally: to .local/endpoints.json's websocket URL, with a dev token minted for
--user), syncs the room, prints every frame readably, and sends each line typed as a message
with a fresh clientMsgId. At the end of input (Ctrl-D, or a pipe closing) it waits for the
acks of what it sent, then exits. Lines starting with "/": /typing, /stop, /quit, and on a
message (REF: its #seq, as printed, or its messageId) /edit REF TEXT, /delete REF,
/react REF EMOJI, /unreact REF EMOJI; /attach PATH uploads a photo or file over REST;
/who asks who of the room is online (also asked on connecting; changes print as pushed),
/hide and /show set whether others see our presence (over REST).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import mimetypes
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

if TYPE_CHECKING:
    import httpx

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


def default_rest(state_dir: Path | None = None) -> str | None:
    """The local REST API's URL, as `make dev` wrote it to .local/endpoints.json."""
    from mayachat_local.config import StackConfig

    path = state_dir / "endpoints.json" if state_dir else StackConfig.from_env().endpoints_file
    try:
        return str(json.loads(path.read_text())["rest"])
    except (OSError, ValueError, KeyError):
        return None


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


def size_of(size: object) -> str:
    n = int(size) if isinstance(size, int) else 0
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} kB" if n < 1 << 20 else f"{n >> 20} MB"


def presence_of(user: dict[str, Any]) -> str:
    """online, offline, or offline (last seen 12:00:50)."""
    if user.get("online"):
        return "online"
    last_seen = user.get("lastSeen")
    return f"offline (last seen {clock(last_seen)})" if last_seen else "offline"


def reaction_counts(reactions: dict[str, Any]) -> str:
    """👍 2 ❤️ 1, from emoji -> users (a message's list) or emoji -> count (a frame's)."""
    counts = {e: len(u) if isinstance(u, list) else u for e, u in reactions.items()}
    return " ".join(f"{e} {n}" for e, n in counts.items() if n) or "no reactions"


USAGE = {
    "/edit": "/edit #SEQ|MESSAGE_ID TEXT",
    "/delete": "/delete #SEQ|MESSAGE_ID",
    "/react": "/react #SEQ|MESSAGE_ID EMOJI",
    "/unreact": "/unreact #SEQ|MESSAGE_ID EMOJI",
    "/attach": "/attach PATH",
    "/who": "/who",
    "/hide": "/hide",
    "/show": "/show",
}
CHANGES = ("message.edited", "message.deleted", "reaction")


class RoomClient:
    def __init__(
        self,
        ws: ClientConnection,
        me: str,
        room: str,
        out: TextIO,
        *,
        token: str = "",
        rest: str | None = None,
    ) -> None:
        self.ws = ws
        self.me = me
        self.room = room
        self.out = out
        self.token = token  # for REST (/attach)
        self.rest = rest
        self.pending: dict[str, dict[str, Any]] = {}  # clientMsgId -> content, until acked
        self.seen: set[str] = set()  # messageIds: dedupe sync and live
        # Messages as they are now (by messageId; by seq for the #SEQ references), and what
        # orders their changes (docs/protocol.md, "Changes are ordered by version"): the
        # highest version applied per (message, "edit") and (message, "user emoji"), and
        # the version of the last synced copy (it holds every change up to it).
        self.messages: dict[str, dict[str, Any]] = {}
        self.by_seq: dict[int, str] = {}
        self.versions: dict[tuple[str, str], int] = {}
        self.floor: dict[str, int] = {}
        self.early: dict[str, list[dict[str, Any]]] = {}  # changes before their message
        self.outbox: list[dict[str, Any]] = []  # our changes, until acked
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
        elif kind in CHANGES:
            self._change(frame)
        elif kind == "sync":
            for update in frame.get("updates") or []:  # older messages, changed since
                if update.get("roomId") == self.room:
                    self._hold(update, synced=True)
                    self.say(self.describe(update))
            self._messages(frame.get("messages", []), synced=True)
            if frame.get("final"):  # the cursor: changes take seqs too
                self.synced_up_to = max(self.synced_up_to, int(frame.get("upToSeq") or 0))
                if frame.get("hasMore"):
                    self.sync()
                elif frame.get("caughtUp") is False:  # more on its way into the store
                    threading.Timer(RESYNC_SECONDS, self.sync).start()
                else:
                    self.say(f"-- synced {self.room} up to #{self.read_up_to} --")
        elif kind == "ack" and frame.get("action"):
            self._change_acked(frame)
        elif kind == "ack":
            with self._lock:
                content = self.pending.pop(frame.get("clientMsgId", ""), None)
                self.seen.add(frame.get("messageId", ""))
                self._acked.notify_all()
            mine = {**frame, "senderId": self.me, "content": content or {}}
            self._hold(mine)
            self.say(
                f"[{clock(frame.get('createdAt'))}] {self.me}: {self.body(mine)}"
                f"  ✓ #{frame.get('seq')}"
            )
        elif kind == "receipt":
            if frame.get("userId") != self.me:
                self.say(
                    f"[{clock(frame.get('at'))}] {frame.get('userId')} "
                    f"{frame.get('kind')} up to #{frame.get('upToSeq')}"
                )
        elif kind == "presence":
            self._presence(frame)
        elif kind == "typing":
            doing = "is typing…" if frame.get("isTyping") else "stopped typing"
            self.say(f"[{clock()}] {frame.get('userId')} {doing}")
        elif kind == "error":
            cmid = frame.get("clientMsgId")
            if cmid and frame.get("code") in ("not_a_member", "invalid_field", "too_long"):
                with self._lock:
                    self.pending.pop(cmid, None)
                    self._acked.notify_all()
            about = ""
            if frame.get("messageId"):  # a refused change: no longer waited for
                about = f" ({self.ref(frame['messageId'])})"
                with self._lock:
                    self.outbox = [c for c in self.outbox if c["messageId"] != frame["messageId"]]
                    self._acked.notify_all()
            self.say(f"! error {frame.get('code')}: {frame.get('message')}{about}")
        elif kind != "pong":
            self.say(f"? {json.dumps(frame)}")

    def _presence(self, frame: dict[str, Any]) -> None:
        """An answer to /who (it names the room) or a change pushed (it does not)."""
        users = frame.get("users") or []
        if "roomId" in frame:
            if frame["roomId"] == self.room:
                who = ", ".join(f"{u.get('userId')} {presence_of(u)}" for u in users)
                self.say(f"-- who: {who or 'nobody else'} --")
            return
        for u in users:
            self.say(f"[{clock()}] {u.get('userId')} is {presence_of(u)}")

    def _messages(self, messages: list[dict[str, Any]], synced: bool = False) -> None:
        highest = 0
        for m in sorted(messages, key=lambda m: int(m.get("seq", 0))):
            if m.get("roomId") != self.room or m.get("messageId") in self.seen:
                continue
            self.seen.add(m["messageId"])
            self._hold(m, synced)
            for change in self.early.pop(m["messageId"], []):  # arrived before it
                self._apply(change)
            self.say(self.describe(self.messages[m["messageId"]]))
            highest = max(highest, int(m.get("seq", 0)))
        if highest > self.read_up_to:
            self.read_up_to = highest
            self.send({"action": "markRead", "roomId": self.room, "upToSeq": highest})

    def _hold(self, m: dict[str, Any], synced: bool = False) -> None:
        """Keep a message; a synced copy is as it is now, with every change up to its version."""
        held = dict(m, reactions=dict(m.get("reactions") or {}))
        self.messages[m["messageId"]] = held
        self.by_seq[int(m.get("seq", 0))] = m["messageId"]
        if synced:
            self.floor[m["messageId"]] = int(m.get("version") or 0)

    def body(self, m: dict[str, Any]) -> str:
        content = m.get("content") or {}
        if m.get("deleted") or content.get("type") == "deleted":
            by = m.get("deletedBy")
            return "[deleted]" + (f" (by {by})" if by and by != m.get("senderId") else "")
        parts = []
        if content.get("type") in ("image", "file"):
            parts.append(
                f"[{content['type']} {content.get('name')}, {size_of(content.get('size'))}]"
            )
        if content.get("text"):
            parts.append(str(content["text"]))
        return " ".join(parts)

    def describe(self, m: dict[str, Any], at: str | None = None) -> str:
        """[12:01:03] bob: hello  #3 [edited]  👍 2"""
        line = f"[{clock(at or m.get('createdAt'))}] {m.get('senderId')}: {self.body(m)}"
        line += f"  #{m.get('seq')}"
        if m.get("editedAt") and not m.get("deleted"):
            line += " [edited]"
        if m.get("reactions") and not m.get("deleted"):
            line += f"  {reaction_counts(m['reactions'])}"
        return line

    def ref(self, message_id: str) -> str:
        held = self.messages.get(message_id)
        return f"#{held['seq']}" if held else message_id

    def _change(self, frame: dict[str, Any], acked: bool = False) -> None:
        if frame.get("roomId") != self.room:
            return
        line = self._apply(frame)
        if line:
            self.say(line + ("  ✓" if acked else ""))

    def _apply(self, frame: dict[str, Any]) -> str | None:
        """Apply a change by version: the line to print, None if it changes nothing."""
        message_id, version = frame["messageId"], int(frame.get("version") or 0)
        kind, emoji, user = frame["type"], frame.get("emoji"), frame.get("userId")
        did = "reacted" if frame.get("op") == "add" else "took back"
        m = self.messages.get(message_id)
        if m is None:  # kept for when the message comes; said as the frame says it
            self.early.setdefault(message_id, []).append(frame)
            if kind == "reaction":
                counts = reaction_counts(frame.get("counts") or {})
                return f"[{clock()}] {user} {did} {emoji} on {message_id}: {counts}"
            mark = "[edited]" if kind == "message.edited" else "[deleted]"
            return f"[{clock()}] {message_id} {mark}"
        if m.get("deleted"):
            return None  # a deletion is final
        if kind == "message.deleted":
            m.update(deleted=True, deletedBy=frame.get("deletedBy"), content={"type": "deleted"})
            return self.describe(m, at=frame.get("deletedAt"))
        key = (message_id, "edit" if kind == "message.edited" else f"{user} {emoji}")
        if version <= max(self.versions.get(key, 0), self.floor.get(message_id, 0)):
            return None  # older than what we hold
        self.versions[key] = version
        if kind == "message.edited":
            m.update(content=frame.get("content"), editedAt=frame.get("editedAt"))
            return self.describe(m, at=frame.get("editedAt"))
        users = list(m["reactions"].get(emoji, []))  # in the order they reacted
        if frame.get("op") == "add" and user not in users:
            users.append(user)
        elif frame.get("op") == "remove" and user in users:
            users.remove(user)
        if users:
            m["reactions"][emoji] = users
        else:
            m["reactions"].pop(emoji, None)
        counts = reaction_counts(m["reactions"])
        return f"[{clock()}] {user} {did} {emoji} on #{m.get('seq')}: {counts}"

    def _change_acked(self, ack: dict[str, Any]) -> None:
        """Our change is in the log: apply it with its version, as the room gets it."""
        with self._lock:
            sent = next(
                (
                    c
                    for c in self.outbox
                    if c["messageId"] == ack.get("messageId") and c["action"] == ack["action"]
                ),
                None,
            )
            if sent is None:
                return  # a resend acked again
            self.outbox.remove(sent)
            self._acked.notify_all()
        now = datetime.now(UTC).isoformat()
        change: dict[str, Any] = {
            "roomId": self.room,
            "messageId": sent["messageId"],
            "version": ack.get("version"),
        }
        if sent["action"] == "editMessage":
            change |= {"type": "message.edited", "content": sent["content"], "editedAt": now}
        elif sent["action"] == "deleteMessage":
            change |= {"type": "message.deleted", "deletedBy": self.me, "deletedAt": now}
        else:
            change |= {"type": "reaction", "userId": self.me, "emoji": sent["emoji"]}
            change["op"] = sent["op"]
        self._change(change, acked=True)

    # ---------------------------------------------------------------- input
    def sync(self) -> None:
        self.send({"action": "sync", "roomId": self.room, "afterSeq": self.synced_up_to})

    def send(self, frame: dict[str, Any]) -> None:
        with contextlib.suppress(ConnectionClosed):  # the receiver reports the close
            self.ws.send(json.dumps(frame))

    def send_text(self, text: str) -> None:
        self.send_content({"type": "text", "text": text})

    def send_content(self, content: dict[str, Any]) -> None:
        cmid = uuid.uuid4().hex
        with self._lock:
            self.pending[cmid] = content
        self.send(
            {"action": "sendMessage", "roomId": self.room, "clientMsgId": cmid, "content": content}
        )

    def send_change(self, action: str, message_id: str, **fields: Any) -> None:
        frame = {"action": action, "roomId": self.room, "messageId": message_id, **fields}
        with self._lock:
            self.outbox.append(frame)  # until its ack
        self.send(frame)

    def message_id(self, ref: str) -> str | None:
        """A message by its #seq (or the bare number) or its messageId."""
        seq = ref.removeprefix("#")
        if seq.isdigit():
            found = self.by_seq.get(int(seq))
            if found is None:
                self.say(f"! no message #{seq} in this room (yet)")
            return found
        return ref

    def command(self, text: str) -> bool:
        """A /edit, /delete, /react, /unreact or /attach line; False if it is none of them."""
        name, _, rest = text.partition(" ")
        if name not in USAGE:
            return False
        if name == "/who":
            self.who()
            return True
        if name in ("/hide", "/show"):
            self.set_hidden(name == "/hide")
            return True
        if name == "/attach":
            if rest.strip():
                self.attach(Path(rest.strip()).expanduser())
            else:
                self.say(f"! usage: {USAGE[name]}")
            return True
        ref, _, arg = rest.strip().partition(" ")
        arg = arg.strip()
        if not ref or (name != "/delete") != bool(arg):
            self.say(f"! usage: {USAGE[name]}")
            return True
        message_id = self.message_id(ref)
        if message_id is None:
            return True
        if name == "/edit":
            self.send_change("editMessage", message_id, content={"type": "text", "text": arg})
        elif name == "/delete":
            self.send_change("deleteMessage", message_id)
        else:
            op = "add" if name == "/react" else "remove"
            self.send_change("react", message_id, emoji=arg, op=op)
        return True

    def who(self) -> None:
        self.send({"action": "presence", "roomId": self.room})

    def set_hidden(self, hidden: bool) -> None:
        """PUT /api/presence/settings (docs/rest.md#presence), then ask again: hiding ours
        hides theirs from us too."""
        import httpx

        if not self.rest:
            self.say("! /hide and /show need the REST API's URL: give --rest")
            return
        try:
            answer = self.call_rest("PUT", "/api/presence/settings", {"hidden": hidden})
        except httpx.HTTPError as exc:
            self.say(f"! presence setting failed: {exc}")
            return
        if not answer.is_success:
            self.say(f"! presence setting refused: {answer.status_code} {answer.text}")
            return
        self.say(f"-- your presence is {'hidden' if hidden else 'shown'} --")
        self.who()

    def call_rest(self, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
        """One JSON call to the REST API as this user."""
        import httpx

        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.request(method, f"{self.rest}{path}", json=body, headers=headers, timeout=20)

    def attach(self, path: Path) -> None:
        """Upload with the presigned POST REST gives (docs/rest.md#attachments), then send."""
        import httpx

        if not self.rest:
            self.say("! /attach needs the REST API's URL: give --rest")
            return
        try:
            data = path.read_bytes()
        except OSError as exc:
            self.say(f"! cannot read {path}: {exc}")
            return
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        about = {"name": path.name, "mimeType": mime, "size": len(data)}
        try:
            ticket = self.call_rest("POST", f"/api/rooms/{self.room}/attachments", about)
            if ticket.status_code != 201:
                self.say(f"! upload refused: {ticket.status_code} {ticket.text}")
                return
            upload = ticket.json()
            form = upload["upload"]
            stored = httpx.post(
                form["url"],
                data=form["fields"],
                files={"file": (path.name, data, mime)},
                timeout=60,
            )
        except httpx.HTTPError as exc:
            self.say(f"! upload failed: {exc}")
            return
        if not stored.is_success:
            self.say(f"! S3 refused the upload: {stored.status_code} {stored.text[:200]}")
            return
        kind = "image" if mime.startswith("image/") else "file"
        self.send_content({"type": kind, "attachmentId": upload["attachmentId"], **about})

    def line(self, line: str) -> bool:
        """Handle one typed line; False to stop."""
        text = line.rstrip("\r\n")
        if text in ("/quit", "/exit"):
            return False
        if text in ("/typing", "/stop"):
            self.send({"action": "typing", "roomId": self.room, "isTyping": text == "/typing"})
        elif self.command(text):
            pass
        elif text.strip():
            self.send_text(text)
        return True

    def wait_for_acks(self, timeout: float) -> bool:
        with self._acked:
            return self._acked.wait_for(lambda: not self.pending and not self.outbox, timeout)

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
    parser.add_argument(
        "--rest",
        help="REST API URL, for /attach, /hide, /show (default locally: .local/endpoints.json)",
    )
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
    rest = args.rest or (None if args.url else default_rest())
    with ws:
        client = RoomClient(ws, me, args.room, out, token=token, rest=rest)
        client.say(f"-- connected to {url} as {me}; room {args.room}; type to send --")
        receiver = threading.Thread(target=client.receive, name="receiver", daemon=True)
        receiver.start()
        client.synced_up_to = args.after
        client.sync()
        client.who()
        try:
            for line in stdin:
                if not client.line(line) or not receiver.is_alive():
                    break
        except KeyboardInterrupt:
            pass
        if (client.pending or client.outbox) and not client.wait_for_acks(ACK_WAIT_SECONDS):
            client.say(
                f"! {len(client.pending) + len(client.outbox)} message(s)/change(s) not acked"
            )
            return 1
    receiver.join(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
