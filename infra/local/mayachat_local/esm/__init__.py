"""The local MSK event-source mapping: `LocalEventSourceMappings` (asyncio), `run_in_thread`
(for synchronous code such as pytest), `python -m mayachat_local.esm`."""

from mayachat_local.devtools.threaded import run_in_thread
from mayachat_local.esm.delivery import Invocation
from mayachat_local.esm.mapping import LocalEventSourceMapping
from mayachat_local.esm.plan import Backoff
from mayachat_local.esm.service import LocalEventSourceMappings
from mayachat_local.esm.spec import MappingSpec, read_mappings

__all__ = [
    "Backoff",
    "Invocation",
    "LocalEventSourceMapping",
    "LocalEventSourceMappings",
    "MappingSpec",
    "read_mappings",
    "run_in_thread",
]
