"""The chaos harness's checker on hand-made runs: what counts as lost, doubled, reused or a
gap, and what does not (a send never acked; an ack repeated for a resend)."""

from __future__ import annotations

from typing import Any

from mayachat_local.chaos.checker import Findings, ReaderLog, Window, check
from mayachat_local.chaos.dead_letters import DeadLetter
from mayachat_local.chaos.readers import Reader, Seen
from mayachat_local.chaos.workload import Ack, Send

ROOM = "room-1"
WINDOWS = [Window("none", 0.0), Window("fault", 10.0)]


def send(cmid: str, at: float = 1.0, finished: float | None = None) -> Send:
    return Send("alice", ROOM, cmid, at, tries=1, outcome="acked", finished=finished)


def ack(cmid: str, mid: str, seq: int, at: float = 1.5) -> Ack:
    return Ack("alice", cmid, mid, ROOM, seq, at)


def doc(cmid: str, mid: str, seq: int) -> dict[str, Any]:
    return {"_id": mid, "roomId": ROOM, "seq": seq, "senderId": "alice", "clientMsgId": cmid}


def reader(*seen: tuple[str, str, int]) -> ReaderLog:
    returned = {mid: Seen(mid, seq, "alice", cmid) for cmid, mid, seq in seen}
    return ReaderLog("sync room-1", ROOM, returned, complete=True)


def run(
    sends: list[Send],
    acks: list[Ack],
    stored: list[dict[str, Any]],
    readers: list[ReaderLog] | None = None,
    dead: list[DeadLetter] | None = None,
    stale: dict[str, list[str]] | None = None,
) -> Findings:
    return check(WINDOWS, sends, acks, stored, readers or [], dead or [], stale or {})


def test_a_clean_run_is_ok() -> None:
    found = run(
        [send("c1"), send("c2")],
        [ack("c1", "M1", 1), ack("c2", "M2", 2)],
        [doc("c1", "M1", 1), doc("c2", "M2", 2)],
        [reader(("c1", "M1", 1), ("c2", "M2", 2))],
    )
    assert found.ok
    assert found.total.acked == 2
    assert found.total.violations == 0


def test_a_send_never_acked_is_not_lost() -> None:
    found = run([send("c1"), send("c2", finished=30.0)], [ack("c1", "M1", 1)], [doc("c1", "M1", 1)])
    assert found.ok
    assert (found.total.acked, found.total.not_acked, found.total.lost) == (1, 1, 0)
    assert found.rows[1].not_acked == 1  # given up during the fault: counted there


def test_the_same_ack_twice_is_one_message() -> None:
    found = run(
        [send("c1")],
        [ack("c1", "M1", 1), ack("c1", "M1", 1, at=5.0)],
        [doc("c1", "M1", 1)],
        [reader(("c1", "M1", 1))],
    )
    assert found.ok
    assert found.total.acked == 1


def test_an_acked_message_missing_or_moved_is_lost() -> None:
    dead = [DeadLetter("M1", "mapping: RetryAttemptsExhausted")]
    found = run(
        [send("c1"), send("c2")],
        [ack("c1", "M1", 1), ack("c2", "M2", 2)],
        [doc("c2", "M2", 7)],  # M1 missing, M2 stored with another seq
        dead=dead,
    )
    assert found.total.lost == 2
    assert found.lost_dead_lettered["mapping: RetryAttemptsExhausted"] == 1


def test_a_resend_acked_under_a_new_id_is_doubled() -> None:
    found = run(
        [send("c1")],
        [ack("c1", "M1", 1), ack("c1", "M2", 2001, at=5.0)],
        [doc("c1", "M1", 1)],
        [reader(("c1", "M1", 1), ("c1", "M2", 2001))],
    )
    assert found.total.doubled == 1
    assert found.total.lost == 0  # one of its acks is stored as acked


def test_one_seq_for_two_messages_is_reused_once() -> None:
    found = run(
        [send("c1"), send("c2", at=12.0)],
        [ack("c1", "M1", 5), ack("c2", "M2", 5, at=12.5)],
        [doc("c1", "M1", 5)],
    )
    assert found.total.reused == 1
    assert found.rows[1].reused == 1  # in the window of the later send
    assert found.total.lost == 1  # M2 is not stored


def test_a_reader_that_never_got_an_acked_message_has_a_gap() -> None:
    found = run(
        [send("c1"), send("c2")],
        [ack("c1", "M1", 1), ack("c2", "M2", 2)],
        [doc("c1", "M1", 1), doc("c2", "M2", 2)],
        [reader(("c2", "M2", 2))],
    )
    assert found.total.gaps == 1
    assert found.examples["catch-up gaps"]


def test_a_connection_left_in_redis_fails_g7() -> None:
    found = run([send("c1")], [ack("c1", "M1", 1)], [doc("c1", "M1", 1)], stale={"alice": ["x"]})
    assert not found.ok


def test_a_send_stuck_across_a_fault_counts_for_the_fault() -> None:
    found = run([send("c1", at=9.0)], [ack("c1", "M1", 1, at=14.0)], [doc("c1", "M1", 1)])
    assert found.rows[1].acked == 1
    assert found.rows[1].max_latency == 5.0


class ScriptedReader(Reader):
    """A reader whose pages come from a script; it records the cursors it asked after."""

    def __init__(self, pages: list[tuple[list[dict[str, Any]], bool] | None]) -> None:
        super().__init__("bob", ROOM, interval=0.0)
        self.pages = pages
        self.asked: list[int] = []

    def page(self) -> tuple[list[dict[str, Any]], bool] | None:
        self.asked.append(self.cursor)
        return self.pages.pop(0)


def wire(seq: int) -> dict[str, Any]:
    return {"messageId": f"M{seq}", "seq": seq, "senderId": "alice", "clientMsgId": f"c{seq}"}


def test_a_reader_pages_from_the_highest_seq_it_was_given() -> None:
    r = ScriptedReader([([wire(1), wire(3)], True), ([wire(4)], False), None, ([], False)])
    assert r.catch_up()
    assert r.asked == [0, 3]
    assert r.cursor == 4
    assert not r.catch_up()  # a failed page: the cursor stays
    assert r.cursor == 4
    assert r.catch_up()
    assert r.asked == [0, 3, 4, 4]
    assert set(r.returned) == {"M1", "M3", "M4"}
