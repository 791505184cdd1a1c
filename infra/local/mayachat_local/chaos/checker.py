"""What every ack promised, checked after the faults healed and the system settled.

A *send* is one (senderId, clientMsgId): the first send and every resend of it. It is *acked*
when at least one `ack` arrived for it (a resend answered with the same messageId is the same
message; a send never acked is never counted as lost). A send counts in the window (the fault
and the quiet time after it) in which it completed: its first ack, or when the phone gave up
on it; so a send stuck across a fault's start counts for that fault. Per send:

- lost (G1): none of its acks names a document in MongoDB (by `_id` = messageId) with the
  ack's roomId and seq;
- doubled (G1): it exists under more than one messageId — in its acks, in MongoDB (documents
  with its senderId, roomId and clientMsgId), or in what readers were served;
- catch-up gaps (G2): per reader of its room, the reader never got it under any of its ids;
- max ack latency: from its first send to its first ack.

Seqs reused (G3): a (roomId, seq) that names more than one messageId, across acks, MongoDB
and readers' answers; counted once per (roomId, seq), in the window of its latest send.
G7: no connection id of the workload's users left in Redis after they all closed.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mayachat_local.chaos.dead_letters import DeadLetter
from mayachat_local.chaos.readers import Seen
from mayachat_local.chaos.workload import Ack, Send

Key = tuple[str, str]  # (senderId, clientMsgId)
EXAMPLES_PER_KIND = 5


@dataclass(frozen=True)
class Window:
    name: str
    start: float  # time.monotonic(); a window lasts until the next one starts
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReaderLog:
    label: str
    room: str
    returned: Mapping[str, Seen]  # messageId -> what it was served as
    complete: bool  # its final catch-up reached the end


@dataclass
class Row:
    window: str
    acked: int = 0
    not_acked: int = 0
    lost: int = 0
    doubled: int = 0
    reused: int = 0
    gaps: int = 0
    max_latency: float = 0.0
    resent: int = 0  # sends that needed more than one try
    answers: Counter[str] = field(default_factory=Counter)  # the tries' non-ack answers

    @property
    def violations(self) -> int:
        return self.lost + self.doubled + self.reused + self.gaps

    def add(self, other: Row) -> None:
        self.acked += other.acked
        self.not_acked += other.not_acked
        self.lost += other.lost
        self.doubled += other.doubled
        self.reused += other.reused
        self.gaps += other.gaps
        self.max_latency = max(self.max_latency, other.max_latency)
        self.resent += other.resent
        self.answers.update(other.answers)


@dataclass
class Findings:
    rows: list[Row]
    total: Row
    stale_connections: dict[str, list[str]]
    examples: dict[str, list[str]] = field(default_factory=dict)
    lost_dead_lettered: dict[str, int] = field(default_factory=dict)  # reason -> lost sends

    @property
    def ok(self) -> bool:
        return self.total.violations == 0 and not self.stale_connections and self.total.acked > 0

    def example(self, kind: str, text: str) -> None:
        found = self.examples.setdefault(kind, [])
        if len(found) < EXAMPLES_PER_KIND:
            found.append(text)


def check(
    windows: Sequence[Window],
    sends: Sequence[Send],
    acks: Sequence[Ack],
    stored: Sequence[Mapping[str, Any]],
    readers: Sequence[ReaderLog],
    dead: Sequence[DeadLetter],
    stale_connections: dict[str, list[str]],
) -> Findings:
    starts = [w.start for w in windows]
    rows = [Row(w.name) for w in windows]
    findings = Findings(rows, Row("total"), stale_connections)

    def window_of(moment: float) -> int:
        return max(0, bisect.bisect_right(starts, moment) - 1)

    acks_of: dict[Key, list[Ack]] = defaultdict(list)
    for ack in acks:
        acks_of[(ack.sender, ack.client_msg_id)].append(ack)
    by_id = {str(d["_id"]): d for d in stored}
    stored_of: dict[Key, set[str]] = defaultdict(set)
    for d in stored:
        stored_of[(str(d["senderId"]), str(d["clientMsgId"]))].add(str(d["_id"]))
    served_of: dict[Key, set[str]] = defaultdict(set)
    for reader in readers:
        for seen in reader.returned.values():
            served_of[(seen.sender, seen.client_msg_id)].add(seen.message_id)
    dead_reason = {d.message_id: d.reason for d in dead if d.message_id}
    seq_of: dict[str, int] = {
        seen.message_id: seen.seq for r in readers for seen in r.returned.values()
    }
    seq_of.update((str(d["_id"]), int(d["seq"])) for d in stored)
    seq_of.update((a.message_id, a.seq) for a in acks)
    completed: dict[Key, float] = {}

    for send in sends:
        key = (send.sender, send.client_msg_id)
        mine = acks_of.get(key)
        completed[key] = min(a.at for a in mine) if mine else send.finished or send.first_sent
        row = rows[window_of(completed[key])]
        row.resent += send.tries > 1
        row.answers.update(a for a in send.answers if a != "ack")
        if not mine:
            row.not_acked += 1
            continue
        row.acked += 1
        row.max_latency = max(row.max_latency, min(a.at for a in mine) - send.first_sent)
        began = rows[window_of(send.first_sent)].window
        during = row.window if began == row.window else f"sent in {began}, acked in {row.window}"
        where = f"{send.sender} {send.client_msg_id} in {send.room} ({during})"
        if not any(_stored_as_acked(by_id.get(a.message_id), a) for a in mine):
            row.lost += 1
            reasons = {dead_reason.get(a.message_id, "") for a in mine} - {""}
            others = stored_of.get(key, set()) - {a.message_id for a in mine}
            reason = ", ".join(sorted(reasons)) or _why_missing(by_id, mine, others)
            findings.lost_dead_lettered[reason] = findings.lost_dead_lettered.get(reason, 0) + 1
            acked = ", ".join(sorted({f"{a.message_id} seq {a.seq}" for a in mine}))
            findings.example("lost", f"{where}: acked as {acked}; {reason}")
        in_room = {i for i in stored_of.get(key, set()) if by_id[i].get("roomId") == send.room}
        ids = {a.message_id for a in mine} | in_room | served_of.get(key, set())
        if len(ids) > 1:
            row.doubled += len(ids) - 1
            seqs = ", ".join(sorted(f"{i} seq {seq_of.get(i, '?')}" for i in ids))
            findings.example("doubled", f"{where}: {len(ids)} messages: {seqs}")
        for reader in readers:
            if reader.room == send.room and not ids & reader.returned.keys():
                row.gaps += 1
                acked = ", ".join(sorted({f"seq {a.seq}" for a in mine}))
                findings.example(
                    "catch-up gaps", f"{reader.label} (cursor-based) never got {where}, {acked}"
                )

    _check_seqs(acks, stored, readers, completed, rows, window_of, findings)
    for row in rows:
        findings.total.add(row)
    return findings


def _check_seqs(
    acks: Sequence[Ack],
    stored: Sequence[Mapping[str, Any]],
    readers: Sequence[ReaderLog],
    completed: Mapping[Key, float],
    rows: list[Row],
    window_of: Callable[[float], int],
    findings: Findings,
) -> None:
    """G3: each (roomId, seq) names one messageId, in acks, MongoDB and readers' answers."""
    named: dict[tuple[str, int], dict[str, Key]] = defaultdict(dict)
    for a in acks:
        named[(a.room, a.seq)][a.message_id] = (a.sender, a.client_msg_id)
    for d in stored:
        named[(str(d["roomId"]), int(d["seq"]))][str(d["_id"])] = (
            str(d["senderId"]),
            str(d["clientMsgId"]),
        )
    for reader in readers:
        for s in reader.returned.values():
            named[(reader.room, s.seq)][s.message_id] = (s.sender, s.client_msg_id)
    for (room, seq), ids in sorted(named.items()):
        if len(ids) < 2:
            continue
        moments = [completed[k] for k in ids.values() if k in completed]
        row = rows[window_of(max(moments)) if moments else 0]
        row.reused += 1
        who = ", ".join(f"{mid} ({s} {c})" for mid, (s, c) in sorted(ids.items()))
        findings.example("seqs reused", f"{room} seq {seq} ({row.window}): {who}")


def _stored_as_acked(doc: Mapping[str, Any] | None, ack: Ack) -> bool:
    return doc is not None and doc.get("roomId") == ack.room and doc.get("seq") == ack.seq


def _why_missing(
    by_id: Mapping[str, Mapping[str, Any]], acks: Sequence[Ack], others: set[str]
) -> str:
    for a in acks:
        doc = by_id.get(a.message_id)
        if doc is not None:
            return f"stored with seq {doc.get('seq')} in {doc.get('roomId')}"
    if others:
        return "not in MongoDB; the send is stored under another messageId (never acked)"
    return "not in MongoDB, not dead-lettered"
