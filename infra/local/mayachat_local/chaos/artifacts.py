"""What a run leaves in its state dir (.local/chaos): every log line in logs/harness.log,
librdkafka's stderr in logs/stderr.log, and run.json: everything the checker saw."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mayachat_local.chaos.checker import ReaderLog
from mayachat_local.chaos.dead_letters import DeadLetter
from mayachat_local.chaos.workload import Recorder

if TYPE_CHECKING:
    from mayachat_local.chaos.runner import Outcome


def log_to_file(path: Path) -> None:
    """Every log line (the emulators', the functions' output) to a file, not the console."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)


@contextlib.contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """File descriptor 2 to a file: librdkafka logs every refused connect there while a
    broker is down; the console keeps the harness's own lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    saved = os.dup(2)
    with path.open("w") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def dump(
    path: Path,
    outcome: Outcome,
    recorder: Recorder,
    stored: list[dict[str, Any]],
    readers: list[ReaderLog],
    dead: list[DeadLetter],
) -> None:
    """Everything the checker saw, for a look afterwards (times: seconds since the start)."""
    zero = outcome.windows[0].start if outcome.windows else 0.0
    data = {
        "windows": [
            {"name": w.name, "start": w.start - zero, "notes": w.notes} for w in outcome.windows
        ],
        "sends": [
            {
                **asdict(s),
                "first_sent": s.first_sent - zero,
                "finished": (s.finished or zero) - zero,
            }
            for s in recorder.sends
        ],
        "acks": [{**asdict(a), "at": a.at - zero} for a in recorder.acks],
        "stored": [
            {k: d.get(k) for k in ("_id", "roomId", "seq", "senderId", "clientMsgId")}
            for d in stored
        ],
        "readers": {
            r.label: sorted((s.seq, s.message_id) for s in r.returned.values()) for r in readers
        },
        "dead_letters": [asdict(d) for d in dead],
    }
    path.write_text(json.dumps(data, indent=1, default=str))
