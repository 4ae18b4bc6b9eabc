"""The seven condition forms of access rules, and a clear error for anything else."""

import pytest

from polystack.apis.datatypes import User
from polystack.core.access.conditions import parse
from polystack.core.access.resources import ProtectedResource

ALICE = User(principal="alice", attributes={"roles": ["admin", "user"], "teams": ["blue"]})
BOB = User(principal="bob", attributes={"roles": ["user"], "teams": ["red", "green"]})


def owned_by(owner: User | None) -> ProtectedResource:
    return ProtectedResource("vector_store", "vs_1", owner)


@pytest.mark.parametrize(("text", "user", "owner", "holds"), [
    ("user is owner", ALICE, ALICE, True),
    ("user is owner", BOB, ALICE, False),
    ("user is owner", ALICE, None, False),
    ("user is not owner", BOB, ALICE, True),
    ("user is not owner", ALICE, ALICE, False),
    ("user with admin in roles", ALICE, None, True),
    ("user with admin in roles", BOB, None, False),
    ("user with admin not in roles", BOB, None, True),
    ("user with admin not in roles", ALICE, None, False),
    ("user in owners teams", BOB, User(principal="carol", attributes={"teams": ["green"]}), True),
    ("user in owners teams", BOB, ALICE, False),
    ("user in owners teams", BOB, User(principal="carol"), True),  # the owner has no teams
    ("user in owners teams", BOB, None, True),
    ("user not in owners teams", BOB, ALICE, True),
    ("user not in owners teams", ALICE, ALICE, False),
    ("  user   is    owner ", ALICE, ALICE, True),
    ("resource is unowned", ALICE, None, True),
    ("resource is unowned", ALICE, ALICE, False),
    ("resource is unowned", BOB, ALICE, False),
])
def test_each_form_holds_exactly_when_llama_stack_says(text, user, owner, holds):
    assert parse(text)(user, owned_by(owner)) is holds


@pytest.mark.parametrize("text", ["user is admin", "user with admin roles", "owner is user", "", "user in owners"])
def test_an_unknown_condition_is_an_error_listing_the_forms(text):
    with pytest.raises(ValueError, match="expected one of: user is owner"):
        parse(text)
