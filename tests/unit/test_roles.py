"""Who may change a group's members (mayachat.roles)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mayachat.model import Room, RoomType
from mayachat.roles import (
    Role,
    may_add,
    may_remove,
    may_set_role,
    role_of,
    roles_with,
    roles_without,
)


def room(roles: dict[str, str], members: tuple[str, ...] = ("olga", "adam", "mia", "max")) -> Room:
    return Room("g1", RoomType.GROUP, members, "olga", datetime.now(UTC), roles=roles)


GROUP = room({"olga": "owner", "adam": "admin"})


def test_roles_default_to_member_and_outsiders_have_none() -> None:
    assert [role_of(GROUP, u) for u in ("olga", "adam", "mia", "eve")] == [
        Role.OWNER,
        Role.ADMIN,
        Role.MEMBER,
        None,
    ]


@pytest.mark.parametrize(("actor", "allowed"), [("olga", True), ("adam", True), ("mia", False)])
def test_owners_and_admins_add_members(actor: str, allowed: bool) -> None:
    assert may_add(GROUP, actor) is allowed
    assert not may_add(GROUP, "eve")


@pytest.mark.parametrize(
    ("actor", "member", "allowed"),
    [
        ("mia", "mia", True),  # anyone leaves
        ("olga", "adam", True),  # the owner removes anyone
        ("adam", "mia", True),  # an admin removes plain members...
        ("adam", "olga", False),  # ...not the owner
        ("adam", "adam", True),
        ("mia", "max", False),  # a member removes nobody else
        ("eve", "eve", False),  # an outsider has nothing to leave
    ],
)
def test_who_may_remove_whom(actor: str, member: str, allowed: bool) -> None:
    assert may_remove(GROUP, actor, member) is allowed


@pytest.mark.parametrize(
    ("actor", "member", "role", "allowed"),
    [
        ("olga", "mia", Role.ADMIN, True),
        ("olga", "adam", Role.MEMBER, True),  # the owner demotes
        ("adam", "mia", Role.ADMIN, True),  # an admin promotes a member
        ("adam", "adam", Role.MEMBER, False),  # nobody changes their own role
        ("mia", "max", Role.ADMIN, False),
        ("olga", "mia", Role.OWNER, False),  # ownership moves only when the owner leaves
        ("adam", "olga", Role.MEMBER, False),
    ],
)
def test_who_may_name_admins(actor: str, member: str, role: Role, allowed: bool) -> None:
    assert may_set_role(GROUP, actor, member, role) is allowed


def test_an_owner_who_leaves_hands_ownership_to_the_earliest_admin_else_member() -> None:
    assert roles_without(GROUP, "olga") == {"adam": "owner"}
    assert roles_without(room({"olga": "owner"}), "olga") == {"adam": "owner"}
    assert roles_without(GROUP, "mia") == GROUP.roles
    assert roles_without(room({"olga": "owner"}, ("olga",)), "olga") == {}


def test_a_plain_member_has_no_entry() -> None:
    assert roles_with(GROUP, "adam", Role.MEMBER) == {"olga": "owner"}
    assert roles_with(GROUP, "mia", Role.ADMIN) == {
        "olga": "owner",
        "adam": "admin",
        "mia": "admin",
    }
