"""API Gateway WebSocket quotas, as defaults that tests can shrink."""

from __future__ import annotations

from dataclasses import dataclass

KB = 1024


@dataclass(frozen=True)
class Quotas:
    # A message (all frames of it) over this closes the connection with 1009.
    max_message_bytes: int = 128 * KB
    # A single frame over this also closes with 1009: AWS documents a 32 KB frame quota and
    # "a larger message (or larger frame size) ... is closed with code 1009".
    max_frame_bytes: int = 32 * KB
    # No message from the client for this long: closed with 1001 "Going away".
    idle_timeout: float = 10 * 60.0
    # Every connection is closed with 1001 "Going away" after this long.
    max_lifetime: float = 2 * 60 * 60.0
    # API Gateway stops waiting for an integration after 29 s (the Lambda may run on).
    integration_timeout: float = 29.0
    # @connections POST answers 429 LimitExceededException once this much is queued for a
    # client that does not read (AWS: "the WebSocket client side buffer is full").
    max_outbound_buffer_bytes: int = 4 * 1024 * KB
