"""markDelivered / markRead: move the caller's cursor forward, log it, tell the room."""

from mayachat import bootstrap
from mayachat.edge.websocket import frame_route
from mayachat.model import Caller, ReceiptKind
from mayachat.protocol import MarkFrame

receipts = bootstrap.receipts()

KINDS = {"markDelivered": ReceiptKind.DELIVERED, "markRead": ReceiptKind.READ}


def mark(caller: Caller, frame: MarkFrame) -> None:
    receipts.mark(caller, frame.roomId, KINDS[frame.action], frame.upToSeq)


handler = frame_route(MarkFrame, mark)
