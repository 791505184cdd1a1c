"""The hot-reload watcher (watchfiles), on real files: it calls back on the loop with what
changed, skips what is not Python, and outlives a failing callback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest

from mayachat_local.devtools.dev import reloader, watched_roots
from mayachat_local.devtools.watch import Watcher

Change = Callable[[Path], None]


def changes_seen(root: Path, steps: list[Change], on_change_fails: bool = False) -> list[set[Path]]:
    """Run the watcher over `root`; after each step, wait (at most 10 s) for its callback."""
    seen: list[set[Path]] = []

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        probe = root / "probe.py"
        watching, called, stop = asyncio.Event(), asyncio.Event(), asyncio.Event()

        def on_change(paths: list[Path]) -> None:
            assert asyncio.get_running_loop() is loop  # reload() runs on the emulators' loop
            if probe in paths:
                watching.set()
            if rest := set(paths) - {probe}:
                seen.append(rest)
                called.set()
            if on_change_fails:
                raise RuntimeError("reload failed")

        task = asyncio.create_task(Watcher([root], on_change).run(stop))
        for attempt in range(100):  # until the watch is set up: the probe is seen
            probe.write_text(f"# {attempt}\n")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(watching.wait(), 0.2)
                break
        for step in steps:
            called.clear()
            step(root)
            await asyncio.wait_for(called.wait(), 10)
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    return seen


def test_the_watcher_reports_edits_new_and_deleted_python_files(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    handler, extra = tmp_path / "pkg" / "app.py", tmp_path / "pkg" / "new.py"
    handler.write_text("x = 1\n")

    def edit(root: Path) -> None:
        (root / "notes.txt").write_text("not python: no reload")
        handler.write_text("x = 2\n")

    seen = changes_seen(
        tmp_path, [edit, lambda root: extra.write_text("y = 1\n"), lambda root: extra.unlink()]
    )
    assert seen == [{handler}, {extra}, {extra}]


def test_a_failing_callback_does_not_stop_the_watcher(tmp_path: Path) -> None:
    steps: list[Change] = [
        lambda root: (root / "a.py").write_text(""),
        lambda root: (root / "b.py").write_text(""),
    ]
    assert changes_seen(tmp_path, steps, on_change_fails=True) == [
        {tmp_path / "a.py"},
        {tmp_path / "b.py"},
    ]


@pytest.mark.parametrize("cache", ["__pycache__", ".venv"])
def test_caches_and_virtualenvs_are_not_watched(tmp_path: Path, cache: str) -> None:
    (tmp_path / cache).mkdir()

    def both(root: Path) -> None:
        (root / cache / "ignored.py").write_text("")
        (root / "app.py").write_text("")

    assert changes_seen(tmp_path, [both]) == [{tmp_path / "app.py"}]


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
