"""Lambda SnapStart runtime hooks (template.yaml's SnapStart parameter).

Registered by every route function at init; outside a SnapStart version they never run (the
runtime calls them only around a snapshot). Before the snapshot: the deferred imports are done
and every client closed (bootstrap.prepare_snapshot); after each restore the clients are built
again, so no two sandboxes share a Kafka producer id, a Redis or MongoDB socket or `random`'s
state.
"""

from __future__ import annotations

from collections.abc import Callable

from snapshot_restore_py import (  # type: ignore[import-untyped]  # 1.0.0 has no py.typed
    register_after_restore,
    register_before_snapshot,
)

from mayachat import bootstrap


def register(warm: Callable[[], object]) -> None:
    """`warm` builds the function's clients (its RouteFunction.warm): run again after restore."""

    def rebuild() -> None:
        bootstrap.after_restore()
        warm()

    register_before_snapshot(bootstrap.prepare_snapshot)
    register_after_restore(rebuild)
