"""Hot reload for `make dev`: a poll-based watcher of .py files (no dependency, no inotify).

Every `interval` seconds it scans the roots for *.py files and compares their mtimes and sizes
with the previous scan; on any change (edit, new file, deleted file) it calls `on_change` with
the changed paths. `make dev` passes a callback that calls `reload()` on the emulators, so the
next invocation of each function imports the handler and the core package afresh.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

log = logging.getLogger("mayachat_local.watch")

Snapshot = dict[Path, tuple[int, int]]
_SKIP_DIRS = {"__pycache__", ".venv", ".git", ".mypy_cache", ".ruff_cache", ".pytest_cache"}


def snapshot(roots: Iterable[Path], suffix: str = ".py") -> Snapshot:
    """(mtime_ns, size) of every file ending in `suffix` under the roots."""
    found: Snapshot = {}
    for root in roots:
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
            for name in files:
                if name.endswith(suffix):
                    path = Path(folder, name)
                    try:
                        stat = path.stat()
                    except OSError:  # deleted between walk and stat
                        continue
                    found[path] = (stat.st_mtime_ns, stat.st_size)
    return found


def changes(before: Snapshot, after: Snapshot) -> list[Path]:
    """Paths added, removed or modified between two snapshots, sorted."""
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


class Watcher:
    """Polls the roots; `check()` runs one scan (tests call it directly), `run()` loops."""

    def __init__(
        self,
        roots: Iterable[Path],
        on_change: Callable[[list[Path]], None],
        *,
        interval: float = 1.0,
    ) -> None:
        self.roots = [Path(r) for r in roots]
        self.on_change = on_change
        self.interval = interval
        self._last = snapshot(self.roots)

    def scan(self) -> list[Path]:
        """One scan: what changed since the previous one (no callback)."""
        current = snapshot(self.roots)
        changed = changes(self._last, current)
        self._last = current
        return changed

    def check(self) -> list[Path]:
        """One scan; calls `on_change` when something changed."""
        changed = self.scan()
        if changed:
            self._notify(changed)
        return changed

    async def run(self) -> None:
        """Poll until cancelled. The scan runs in a thread so the event loop never waits on
        the disk; the callback runs on the loop (the emulators' reload() expects that)."""
        while True:
            await asyncio.sleep(self.interval)
            changed = await asyncio.to_thread(self.scan)
            if changed:
                self._notify(changed)

    def _notify(self, changed: list[Path]) -> None:
        try:
            self.on_change(changed)
        except Exception:
            log.exception("hot reload failed")
