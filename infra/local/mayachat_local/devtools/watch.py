"""Hot reload for `make dev`: watchfiles (inotify; `force_polling` where a file system sends
no events) on the .py files of the roots. On a change (edit, new file, deleted file) it calls
`on_change` with the changed paths, on the event loop: `make dev` passes a callback that calls
`reload()` on the emulators, so the next invocation of each function imports afresh.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from watchfiles import PythonFilter, awatch

log = logging.getLogger("mayachat_local.devtools.watch")


class Watcher:
    def __init__(
        self,
        roots: Iterable[Path],
        on_change: Callable[[list[Path]], None],
        *,
        force_polling: bool | None = None,  # None: watchfiles decides (WATCHFILES_FORCE_POLLING)
    ) -> None:
        self.roots = [Path(r) for r in roots]
        self.on_change = on_change
        self.force_polling = force_polling

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Watch until cancelled (or `stop` is set). PythonFilter skips caches, .git and
        virtualenvs; changes within watchfiles' debounce arrive as one call."""
        async for batch in awatch(
            *self.roots,
            watch_filter=PythonFilter(),
            stop_event=stop,
            force_polling=self.force_polling,
        ):
            self._notify(sorted({Path(path) for _, path in batch}))

    def _notify(self, changed: list[Path]) -> None:
        try:
            self.on_change(changed)
        except Exception:
            log.exception("hot reload failed")
