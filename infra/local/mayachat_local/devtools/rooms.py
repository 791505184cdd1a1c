"""Create a room in the local MongoDB from the command line (the REST API does the same):

python -m mayachat_local.devtools.rooms alice bob     # two users: their direct room; more: a group
"""

from __future__ import annotations

import sys

from mayachat import bootstrap
from mayachat.model import RoomType


def create_room(members: list[str], kind: RoomType | None = None) -> str:
    kind = kind or (RoomType.DIRECT if len(set(members)) == 2 else RoomType.GROUP)
    room, _ = bootstrap.room_admin().create(members[0], kind, members[1:])
    return room.room_id


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m mayachat_local.devtools.rooms USER [USER...]", file=sys.stderr)
        return 2
    print(create_room(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
