"""Frames to connections through the API Gateway Management API (the ConnectionGateway
port): fan-out to a room's online members in waves, the caller's answer, the server's close.
A connection that is gone (410) leaves the registry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from mayachat.codec import encode
from mayachat.frames import ErrorFrame, ServerFrame
from mayachat.metrics import Count, Metrics
from mayachat.model import Caller
from mayachat.ports import ConnectionGateway, ConnectionRegistry, Departure, Posted
from mayachat.presence import Announcer

logger = Logger(child=True)


@dataclass
class Delivery:
    """Frames to connections; connections that are gone (410) leave the registry."""

    registry: ConnectionRegistry
    gateway: ConnectionGateway
    metrics: Metrics
    # How many posts the gateway makes at once: fan-outs up to this size cost one round trip.
    wave: int
    # A connection found gone may have been its user's last: their presence changed.
    announcer: Announcer | None = None

    def to_members(
        self,
        user_ids: Iterable[str],
        frame: ServerFrame,
        *,
        exclude: set[str] | None = None,
        reply: tuple[str, ServerFrame] | None = None,
        what: str,
        room_id: str,
        online: Mapping[str, list[str]] | None = None,
    ) -> bool:
        """Post `frame` to the members' connections. `reply` = (connection, frame) is the answer
        to the caller: left to the route response when the members' posts fit in one wave
        (then it costs no post); else posted first, so it does not wait for a big room.
        `online`: the members' connections if looked up already (online()). True when the
        reply was posted."""
        data = encode(frame)
        skip = exclude or set()
        posts: list[tuple[str, bytes]] = []
        owners: dict[str, str] = {}
        found = self.registry.connections_of(user_ids) if online is None else online
        for user_id, connections in found.items():
            for connection_id in connections:
                if connection_id not in skip:
                    posts.append((connection_id, data))
                    owners[connection_id] = user_id
        posted = reply is not None and len(posts) >= self.wave
        if reply is not None and posted:
            posts.insert(0, (reply[0], encode(reply[1])))
        self.post(posts, owners, what=what, room_id=room_id)
        return posted

    def answer(self, caller: Caller, frame: ServerFrame) -> bool:
        """Post the caller its answer now, on its own; False if it did not get there."""
        owner = {caller.connection_id: caller.user_id}
        posted = self.post([(caller.connection_id, encode(frame))], owner, what="answer")
        return posted is not None and not posted.gone and not posted.failed

    def online(self, user_ids: Iterable[str]) -> Mapping[str, list[str]]:
        """The users' live connections (one registry read), for a later to_members."""
        return self.registry.connections_of(user_ids)

    def end(self, caller: Caller, frame: ErrorFrame) -> None:
        """Tell the caller why, then close its connection (a route response would come too
        late: the socket is closed by then)."""
        owner = {caller.connection_id: caller.user_id}
        self.post([(caller.connection_id, encode(frame))], owner, what="close")
        self.gateway.close(caller.connection_id)
        self._gone(self.registry.remove(caller.user_id, caller.connection_id))
        logger.info("connection closed by the server", extra={"connectionId": caller.connection_id})

    def to_users(self, frames: Mapping[str, ServerFrame], *, what: str) -> None:
        """Each user's own frame, to every connection of theirs (one registry read)."""
        posts: list[tuple[str, bytes]] = []
        owners: dict[str, str] = {}
        for user_id, connections in self.registry.connections_of(frames).items():
            data = encode(frames[user_id])
            for connection_id in connections:
                posts.append((connection_id, data))
                owners[connection_id] = user_id
        self.post(posts, owners, what=what)

    def _gone(self, departure: Departure | None) -> None:
        # Its $disconnect may never come (it is best effort): tell the user's contacts now.
        if departure is not None and departure.went_offline and self.announcer is not None:
            self.announcer.changed(departure.user_id, departure.at_ms, "gone")

    def post(
        self,
        posts: list[tuple[str, bytes]],
        owners: dict[str, str],
        *,
        what: str,
        room_id: str | None = None,
    ) -> Posted | None:
        """Post; a connection that is gone leaves its owner's set (`owners`: connection ->
        user), even when its own registry entry has expired."""
        if not posts:
            return None
        posted = self.gateway.post_many(posts)
        self.metrics.count(Count.DELIVERY_POSTS, len(posts))
        if posted.gone:
            self.metrics.count(Count.DELIVERY_GONE, len(posted.gone))
        if posted.failed:
            self.metrics.count(Count.DELIVERY_FAILED, posted.failed)
        for connection_id in posted.gone:
            if connection_id in owners:
                self._gone(self.registry.remove(owners[connection_id], connection_id))
            else:
                self._gone(self.registry.unregister(connection_id))
        logger.info(
            "delivered",
            extra={
                "what": what,
                "roomId": room_id,
                "connections": len(posts) - len(posted.gone) - posted.failed,
                "gone": len(posted.gone),
                "failed": posted.failed,
            },
        )
        return posted
