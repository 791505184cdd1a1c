"""Create a room directly in the local MongoDB (until the REST API does it for you).

python -m mayachat_local.rooms alice bob     # prints the new room's id
"""

from __future__ import annotations

import sys
import uuid

from mayachat import bootstrap
from mayachat.adapters.mongo import MongoRooms


def create_room(members: list[str], kind: str | None = None) -> str:
    room_id = f"room-{uuid.uuid4().hex[:12]}"
    kind = kind or ("direct" if len(members) == 2 else "group")
    MongoRooms(bootstrap.mongo_database()).create(room_id, kind, members, created_by=members[0])
    return room_id


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m mayachat_local.rooms USER [USER...]", file=sys.stderr)
        return 2
    print(create_room(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
