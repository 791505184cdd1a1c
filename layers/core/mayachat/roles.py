"""Who may change a group room's members: pure rules, enforced by RoomAdmin (REST) for every
change. Direct rooms never change members.

- the creator is the owner; owners and admins add members; any member may leave;
- the owner removes anyone, an admin removes plain members;
- the owner names and demotes admins, an admin may promote a plain member to admin;
- an owner who leaves hands ownership on: to the earliest admin, else the earliest member.
"""

from __future__ import annotations

from enum import StrEnum

from mayachat.model import Room


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


def role_of(room: Room, user_id: str) -> Role | None:
    if user_id not in room.members:
        return None
    return Role(room.roles.get(user_id, Role.MEMBER))


def may_add(room: Room, actor: str) -> bool:
    return role_of(room, actor) in (Role.OWNER, Role.ADMIN)


def may_remove(room: Room, actor: str, member: str) -> bool:
    if actor == member:
        return role_of(room, actor) is not None  # leaving
    mine, theirs = role_of(room, actor), role_of(room, member)
    return mine is Role.OWNER or (mine is Role.ADMIN and theirs is Role.MEMBER)


def may_set_role(room: Room, actor: str, member: str, role: Role) -> bool:
    if role is Role.OWNER or actor == member:
        return False  # ownership moves only when its holder leaves
    mine, theirs = role_of(room, actor), role_of(room, member)
    if theirs is None or theirs is Role.OWNER:
        return False
    if mine is Role.OWNER:
        return True
    return mine is Role.ADMIN and theirs is Role.MEMBER and role is Role.ADMIN


def roles_without(room: Room, leaver: str) -> dict[str, str]:
    """The room's roles once `leaver` is gone: an owner hands ownership on."""
    roles = {u: r for u, r in room.roles.items() if u != leaver and u in room.members}
    if role_of(room, leaver) is Role.OWNER:
        rest = [m for m in room.members if m != leaver]
        admins = [m for m in rest if roles.get(m) == Role.ADMIN]
        heirs = admins or rest
        if heirs:
            roles[heirs[0]] = Role.OWNER
    return roles


def roles_with(room: Room, member: str, role: Role) -> dict[str, str]:
    roles = dict(room.roles)
    if role is Role.MEMBER:
        roles.pop(member, None)
    else:
        roles[member] = role
    return roles
