"""The access decision: default policy, ordered rules, and who is never judged."""

import pytest

from polystack.apis.datatypes import User
from polystack.core.access.policy import DEFAULT_POLICY, SYSTEM, AccessPolicy, AccessRule
from polystack.core.access.resources import Action, ProtectedResource

ALICE = User(principal="alice", attributes={"roles": ["user"], "teams": ["blue"]})
BOB = User(principal="bob", attributes={"roles": ["user"], "teams": ["blue"]})
ADMIN = User(principal="root", attributes={"roles": ["admin"]})


def store(owner: User | None, identifier: str = "vs_1") -> ProtectedResource:
    return ProtectedResource("vector_store", identifier, owner)


def policy(*rules: dict) -> AccessPolicy:
    return AccessPolicy([AccessRule.model_validate(rule) for rule in rules])


@pytest.mark.parametrize("action", list(Action))
def test_by_default_what_a_caller_creates_is_theirs_alone(action):
    assert DEFAULT_POLICY.allows(action, store(ALICE), ALICE)
    assert not DEFAULT_POLICY.allows(action, store(ALICE), BOB)  # even a teammate


def test_by_default_what_the_config_declares_is_readable_by_all_and_changeable_by_none():
    assert DEFAULT_POLICY.allows(Action.READ, store(None), BOB)
    for action in (Action.UPDATE, Action.DELETE):
        assert not DEFAULT_POLICY.allows(action, store(None), BOB)


@pytest.mark.parametrize("action", list(Action))
def test_without_a_caller_or_for_the_system_principal_everything_is_allowed(action):
    strict = policy({"forbid": {"actions": list(Action)}})
    assert strict.allows(action, store(ALICE), None)
    assert strict.allows(action, store(ALICE), SYSTEM)


def test_the_first_matching_rule_decides_and_no_match_denies():
    rules = policy(
        {"forbid": {"actions": ["create", "delete"], "resource": "vector_store::*"},
         "unless": "user with admin in roles"},
        {"permit": {"actions": ["read", "update", "delete"]}, "when": "user in owners teams"},
        {"permit": {"actions": ["create"]}},
    )
    assert not rules.allows(Action.CREATE, store(ALICE), ALICE)
    assert rules.allows(Action.CREATE, store(ADMIN), ADMIN)
    assert rules.allows(Action.READ, store(ALICE), BOB)  # same team
    assert not rules.allows(Action.DELETE, store(ALICE), BOB)  # forbidden first
    assert rules.allows(Action.CREATE, ProtectedResource("file", "f", ALICE), ALICE)
    assert not rules.allows(Action.READ, store(User(principal="x", attributes={"teams": ["red"]})), ALICE)


def test_a_scope_names_a_principal_and_a_resource_or_all_of_a_type():
    rules = policy({"permit": {"principal": "alice", "actions": "read", "resource": "vector_store::vs_1"}})
    assert rules.allows(Action.READ, store(BOB), ALICE)
    assert not rules.allows(Action.READ, store(BOB, "vs_2"), ALICE)
    assert not rules.allows(Action.READ, store(BOB), BOB)
    assert not rules.allows(Action.UPDATE, store(BOB), ALICE)


def test_readable_filters_a_listing():
    resources = [store(ALICE, "a"), store(BOB, "b"), store(None, "c")]
    assert [r.identifier for r in DEFAULT_POLICY.readable(resources, ALICE)] == ["a", "c"]


@pytest.mark.parametrize(("rule", "message"), [
    ({"permit": {"actions": ["read"]}, "forbid": {"actions": ["read"]}}, "exactly one of 'permit' or 'forbid'"),
    ({"when": "user is owner"}, "exactly one of 'permit' or 'forbid'"),
    ({"permit": {"actions": ["read"]}, "when": "user is owner", "unless": "user is owner"}, "not both"),
    ({"permit": {"actions": ["read"], "resource": "vector_store"}}, "'<type>::<identifier>'"),
    ({"permit": {"actions": ["fly"]}}, "actions"),
    ({"permit": {"actions": []}}, "actions"),
    ({"permit": {"actions": ["read"]}, "when": ["user is owner", "user is boss"]}, "unknown condition"),
    ({"permit": {"actions": ["read"]}, "wehn": "user is owner"}, "wehn"),
])
def test_a_bad_rule_is_rejected_with_the_reason(rule, message):
    with pytest.raises(ValueError, match=message):
        AccessRule.model_validate(rule)
