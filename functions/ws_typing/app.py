"""typing: tell the room's other online members; nothing is stored."""

from mayachat import bootstrap
from mayachat.edge.websocket import frame_route
from mayachat.model import Caller
from mayachat.protocol import TypingFrame

typing = bootstrap.typing()


def on_typing(caller: Caller, frame: TypingFrame) -> None:
    typing.typing(caller, frame.roomId, frame.isTyping)


handler = frame_route(TypingFrame, on_typing)
