"""Whether a connection's frame is served now: its user's frame limits, and a flood's end.

A refused frame still costs an invocation (the limit is checked inside the function), so a
client that ignores `retryAfterMs` would go on costing one per frame. Each refusal is a
strike against the connection (forgiven at STRIKES_FORGIVEN_PER_SECOND); at
`close_after_refusals` strikes the connection is closed instead, and the user's connection
attempts owe `reconnect_penalty_seconds`: a flood ends within a second or two, and the client
that reconnects at once is refused at the handshake (429) until the penalty is served.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from mayachat.errors import ChatError, ErrorCode
from mayachat.limits import Limits
from mayachat.metrics import Count, Metrics
from mayachat.model import Caller
from mayachat.ports import ConnectionRegistry, RateLimiter

logger = Logger(child=True)


@dataclass
class FrameGate:
    limiter: RateLimiter
    limits: Limits
    metrics: Metrics
    registry: ConnectionRegistry

    def admit(self, caller: Caller, client_msg_id: Callable[[], str | None]) -> None:
        """Take the frame's token, or raise `rate_limited` (naming the frame's clientMsgId,
        read only then); one that `closes` the connection once the refusals run too long.
        Every frame is also its connection's heartbeat (presence, the registry's liveness)."""
        admission = self.limiter.admit(
            caller.user_id, self.limits.frame(caller.connection_id), heartbeat=caller.connection_id
        )
        if admission.restored:
            # Redis lost the registry: this connection is known again, so live delivery and
            # presence come back with each connection's next frame.
            self.registry.restore(caller.connection_id, caller.user_id)
            logger.info("connection restored to the registry")
        if not admission.wait:
            return
        self.metrics.count(Count.RATE_LIMITED)
        # The frames still in flight when it closes are refused plainly; a close that failed
        # is tried again a round of refusals later.
        if admission.strikes % self.limits.close_after_refusals:
            raise ChatError(
                ErrorCode.RATE_LIMITED,
                "too many frames; slow down",
                client_msg_id=client_msg_id(),
                retry_after=admission.wait,
            )
        penalty = self.limits.reconnect_penalty_seconds
        self.limiter.owe(caller.user_id, self.limits.connect(), penalty)
        self.metrics.count(Count.FLOODS_CLOSED)
        logger.warning(
            "connection closed for flooding",
            extra={"strikes": admission.strikes, "penaltySeconds": penalty},
        )
        raise ChatError(
            ErrorCode.RATE_LIMITED,
            f"{admission.strikes} frames refused without waiting: closing this connection; "
            f"reconnect after retryAfterMs and stay under the limits",
            client_msg_id=client_msg_id(),
            retry_after=max(penalty, admission.wait),
            closes=True,
        )
