"""Who may do how much: token buckets per user, so no account takes more than its share.

Every bucket of a user lives in the user's Redis slot, so one atomic script checks and takes
from all the buckets a request needs (a frame: its connection's and its user's) in one round
trip. Settings give the numbers (`mayachat.settings`); docs/protocol.md lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mayachat.settings import Settings


@dataclass(frozen=True)
class Limit:
    burst: int  # tokens when full
    per_second: float  # refill


Buckets = list[tuple[str, Limit]]  # (bucket name, its limit), all of one user


# A refusal is a strike against the connection; strikes are forgiven at this rate, so a
# client that waits its retryAfterMs never gathers many, and one that does not soon does.
STRIKES_FORGIVEN_PER_SECOND = 1.0


@dataclass(frozen=True)
class Admission:
    wait: float  # 0.0: admitted; else the seconds until it would be (for retryAfterMs)
    strikes: int  # the first bucket's refusals, less those forgiven
    # The frame's connection was not in the registry (Redis lost it) and is now.
    restored: bool = False


@dataclass(frozen=True)
class Limits:
    connection_frames: Limit  # one connection
    user_frames: Limit  # all of a user's connections together
    connects: Limit  # $connect attempts of a user
    rest: Limit  # REST calls of a user
    max_connections: int  # open connections of a user
    # A connection with this many strikes ignores retryAfterMs: it is closed, and its user's
    # connection attempts wait `reconnect_penalty_seconds`.
    close_after_refusals: int
    reconnect_penalty_seconds: float

    @classmethod
    def from_settings(cls, s: Settings) -> Limits:
        return cls(
            connection_frames=Limit(s.rate_limit_burst, s.rate_limit_per_second),
            user_frames=Limit(s.user_rate_limit_burst, s.user_rate_limit_per_second),
            connects=Limit(s.connect_rate_limit_burst, s.connect_rate_limit_per_second),
            rest=Limit(s.rest_rate_limit_burst, s.rest_rate_limit_per_second),
            max_connections=s.max_connections_per_user,
            close_after_refusals=s.rate_limit_close_after,
            reconnect_penalty_seconds=s.rate_limit_reconnect_penalty_seconds,
        )

    def frame(self, connection_id: str) -> Buckets:
        return [(f"conn:{connection_id}", self.connection_frames), ("frames", self.user_frames)]

    def answer_frames(self) -> Buckets:
        """What a big answer costs beyond its request: one of the user's frame tokens per
        extra frame posted (a sync page can be several ~96 KB frames)."""
        return [("frames", self.user_frames)]

    def connect(self) -> Buckets:
        return [("connect", self.connects)]

    def rest_call(self) -> Buckets:
        return [("rest", self.rest)]
