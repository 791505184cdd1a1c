"""A socket outlives its token only until its next frame: that frame gets `token_expired` and
the server closes the connection (issue #13), through the real gateway."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from mayachat.model import TOKEN_LEEWAY_SECONDS
from mayachat_local.devtools.devauth import mint
from mayachat_local.gateway.server import LocalWebSocketGateway


def test_a_frame_after_the_token_expired_gets_token_expired_and_the_socket_closes(
    gateway: LocalWebSocketGateway, users: Callable[[str], str]
) -> None:
    # Expired already, but within the clock-skew leeway: the handshake still takes it.
    remaining = 4
    token = mint(users("alice"), ttl_seconds=remaining - TOKEN_LEEWAY_SECONDS)
    with connect(f"{gateway.url}?token={token}", open_timeout=20) as ws:
        ws.send(json.dumps({"action": "ping"}))
        assert json.loads(ws.recv(timeout=20)) == {"type": "pong"}
        time.sleep(remaining + 1)  # now past exp + leeway
        ws.send(json.dumps({"action": "ping"}))
        frame = json.loads(ws.recv(timeout=20))
        assert (frame["type"], frame["code"]) == ("error", "token_expired")
        try:
            ws.recv(timeout=20)
            raise AssertionError("the server did not close the connection")
        except ConnectionClosed:
            pass
