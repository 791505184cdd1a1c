"""The hot-reload watcher: a poll of .py mtimes that calls back with what changed."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from mayachat_local.dev import reloader, watched_roots
from mayachat_local.watch import Watcher, changes, snapshot


def _touch(path: Path, text: str, bump_ns: int = 0) -> None:
    path.write_text(text)
    if bump_ns:  # coarse file-system clocks: make the change visible regardless
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump_ns))


def test_watcher_reports_edits_new_and_deleted_files(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    handler = tmp_path / "pkg" / "app.py"
    _touch(handler, "x = 1\n")
    (tmp_path / "notes.txt").write_text("ignored")
    calls: list[list[Path]] = []
    watcher = Watcher([tmp_path], calls.append)

    assert watcher.check() == []
    assert calls == []

    _touch(handler, "x = 2\n", bump_ns=1_000_000_000)
    assert watcher.check() == [handler]
    assert calls == [[handler]]

    extra = tmp_path / "pkg" / "new.py"
    _touch(extra, "y = 1\n")
    (tmp_path / "notes.txt").write_text("still ignored")
    assert watcher.check() == [extra]

    extra.unlink()
    assert watcher.check() == [extra]
    assert watcher.check() == []
    assert len(calls) == 3


def test_snapshot_skips_caches(tmp_path: Path) -> None:
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "app.py").write_text("")
    (tmp_path / "app.py").write_text("")
    assert list(snapshot([tmp_path])) == [tmp_path / "app.py"]
    assert changes({}, snapshot([tmp_path])) == [tmp_path / "app.py"]


def test_a_failing_callback_does_not_stop_the_watcher(tmp_path: Path) -> None:
    def boom(_: list[Path]) -> None:
        raise RuntimeError("reload failed")

    watcher = Watcher([tmp_path], boom)
    _touch(tmp_path / "a.py", "")
    assert watcher.check() == [tmp_path / "a.py"]


def test_run_polls_and_calls_back_on_the_loop(tmp_path: Path) -> None:
    seen: list[list[Path]] = []

    async def scenario() -> None:
        changed = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_change(paths: list[Path]) -> None:
            assert asyncio.get_running_loop() is loop  # reload() runs on the emulators' loop
            seen.append(paths)
            changed.set()

        watcher = Watcher([tmp_path], on_change, interval=0.05)
        task = asyncio.create_task(watcher.run())
        await asyncio.sleep(0)
        _touch(tmp_path / "handler.py", "print('hi')\n")
        await asyncio.wait_for(changed.wait(), 10)
        task.cancel()

    asyncio.run(scenario())
    assert seen == [[tmp_path / "handler.py"]]


class _Emulator:
    def __init__(self) -> None:
        self.reloads = 0

    def reload(self) -> None:
        self.reloads += 1


def test_dev_reloads_every_emulator(tmp_path: Path) -> None:
    gateway, rest, mappings = _Emulator(), _Emulator(), _Emulator()
    reloader(gateway, rest, mappings)([tmp_path / "app.py"])
    assert (gateway.reloads, rest.reloads, mappings.reloads) == (1, 1, 1)
    roots = watched_roots(Path("/repo"))
    assert Path("/repo/functions") in roots
    assert Path("/repo/layers/core/mayachat") in roots
