"""The local API Gateway WebSocket emulator: `LocalWebSocketGateway` (asyncio),
`run_in_thread` (for synchronous code such as pytest), `python -m mayachat_local.gateway`."""

from mayachat_local.devtools.threaded import run_in_thread
from mayachat_local.gateway.quotas import Quotas
from mayachat_local.gateway.server import LocalWebSocketGateway

__all__ = ["LocalWebSocketGateway", "Quotas", "run_in_thread"]
