"""The SQL store enforces the caller's access policy on owned tables, for every operation and both
evaluation paths (the default policy pushed into SQL, custom rules judged per row), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from polystack.apis.datatypes import User
from polystack.apis.errors import AccessDeniedError, InvalidRequestError
from polystack.core.access.policy import DEFAULT_POLICY, AccessPolicy, AccessRule
from polystack.core.request_context import acting_as, as_system
from polystack.core.storage.config import PostgresSQLConfig, SQLBackendConfig
from polystack.core.storage.sql.api import Column, ColumnType, Query, SQLStore, TableSchema
from polystack.core.storage.sql.factory import open_sql_store
from polystack.testing.postgres_admin import admin_sql

NOTES = TableSchema("notes", {"id": Column(ColumnType.STRING, primary_key=True),
                              "rank": Column(ColumnType.INTEGER, nullable=False),
                              "body": Column(ColumnType.TEXT)}, owned=True, resource_type="note")
PLAIN = TableSchema("plain", {"id": Column(ColumnType.STRING, primary_key=True)})
ALICE = User(principal="alice", attributes={"teams": ["blue"]})
BOB = User(principal="bob", attributes={"teams": ["red"]})
# For alice and bob (different teams) the same outcome as the default policy, but judged row by row.
OWNER_RULES = AccessPolicy([AccessRule.model_validate(rule) for rule in (
    {"permit": {"actions": ["create", "read", "update", "delete"]}, "when": "user is owner"},
    {"permit": {"actions": ["read"]}, "when": "user in owners teams"},  # holds for unowned rows
)])


@pytest.fixture(params=["default", "rules"])
def policy(request: pytest.FixtureRequest) -> AccessPolicy:
    return DEFAULT_POLICY if request.param == "default" else OWNER_RULES


@pytest.fixture
async def store(backend: SQLBackendConfig) -> AsyncIterator[SQLStore]:
    if isinstance(backend, PostgresSQLConfig):
        await admin_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public", database=backend.db)
    opened = await open_sql_store(backend)
    await opened.create_table(NOTES)
    await opened.create_table(PLAIN)
    yield opened
    await opened.close()


async def _seed(store: SQLStore, policy: AccessPolicy) -> None:
    """alice owns a0..a4, bob b0..b2; 'cfg' has no owner (as what the run config declares)."""
    with acting_as(ALICE, policy):
        await store.insert("notes", [{"id": f"a{i}", "rank": i, "body": "alice"} for i in range(5)])
    with acting_as(BOB, policy):
        await store.insert("notes", [{"id": f"b{i}", "rank": 10 + i, "body": "bob"} for i in range(3)])
    await store.insert("notes", {"id": "cfg", "rank": 100, "body": "shared"})  # no caller: no owner


async def test_rows_belong_to_their_creator(store, policy):
    await _seed(store, policy)
    row = await store.fetch_one("notes", {"id": "a0"})
    assert row is not None and row["owner_principal"] == "alice" and row["owner_attributes"] == {"teams": ["blue"]}


async def test_a_caller_reads_their_own_rows_and_unowned_ones_only(store, policy):
    await _seed(store, policy)
    with acting_as(BOB, policy):
        page = await store.fetch_all("notes", Query(order_by=[("rank", "asc")]))
        assert [r["id"] for r in page.data] == ["b0", "b1", "b2", "cfg"]
        assert await store.fetch_one("notes", {"id": "a1"}) is None
        assert await store.fetch_one("notes", {"body": "alice"}) is None
        assert await store.count("notes") == 4 and await store.count("notes", {"body": "alice"}) == 0


async def test_pages_hold_only_visible_rows_and_say_whether_more_follow(store, policy):
    await _seed(store, policy)
    with acting_as(ALICE, policy):
        first = await store.fetch_all("notes", Query(order_by=[("rank", "asc")], limit=4))
        assert [r["id"] for r in first.data] == ["a0", "a1", "a2", "a3"] and first.has_more
        rest = await store.fetch_all("notes", Query(order_by=[("rank", "asc")], limit=4, after=("id", "a3")))
        assert [r["id"] for r in rest.data] == ["a4", "cfg"] and not rest.has_more
        with pytest.raises(InvalidRequestError, match="after"):  # another's row is no cursor: it is not there
            await store.fetch_all("notes", Query(limit=2, after=("id", "b0")))


async def test_update_and_delete_never_touch_rows_the_caller_cannot_see(store, policy):
    await _seed(store, policy)
    with acting_as(BOB, policy):
        assert await store.update("notes", {"body": "hacked"}, {"id": "a0"}) == 0
        assert await store.delete("notes", {"id": "a0"}) == 0
        assert await store.update("notes", {"body": "mine"}, {"body": "bob"}) == 3  # a wide where: own rows only
        assert await store.delete("notes", {"rank": 10}) == 1
    with acting_as(ALICE, policy):
        assert (await store.fetch_one("notes", {"id": "a0"}))["body"] == "alice"  # type: ignore[index]
        assert await store.count("notes") == 6


async def test_a_visible_row_the_caller_may_not_change_is_403(store, policy):
    await _seed(store, policy)
    with acting_as(BOB, policy):
        with pytest.raises(AccessDeniedError):
            await store.update("notes", {"body": "x"}, {"id": "cfg"})
        with pytest.raises(AccessDeniedError):
            await store.delete("notes", {"id": "cfg"})
        with pytest.raises(AccessDeniedError):
            await store.upsert("notes", {"id": "cfg", "rank": 1, "body": "x"}, ["id"])
    assert (await store.fetch_one("notes", {"id": "cfg"}))["body"] == "shared"  # type: ignore[index]


async def test_creating_for_someone_else_is_403(store, policy):
    with acting_as(BOB, policy), pytest.raises(AccessDeniedError):
        await store.insert("notes", {"id": "n", "rank": 1}, owner=ALICE)
    assert await store.count("notes") == 0


async def test_an_upsert_keeps_the_rows_owner_and_cannot_take_over_anothers(store, policy):
    await _seed(store, policy)
    with acting_as(ALICE, policy):
        await store.upsert("notes", {"id": "a0", "rank": 0, "body": "edited"}, ["id"])
        await store.upsert("notes", {"id": "new", "rank": 50}, ["id"])
    with acting_as(BOB, policy), pytest.raises(AccessDeniedError):
        await store.upsert("notes", {"id": "a1", "rank": 1, "body": "mine now"}, ["id"])
    assert (await store.fetch_one("notes", {"id": "a0"}))["owner_principal"] == "alice"  # type: ignore[index]
    assert (await store.fetch_one("notes", {"id": "new"}))["owner_principal"] == "alice"  # type: ignore[index]
    assert (await store.fetch_one("notes", {"id": "a1"}))["body"] == "alice"  # type: ignore[index]


async def test_the_system_principal_and_tables_without_owners_are_not_judged(store, policy):
    await _seed(store, policy)
    with acting_as(BOB, policy):
        with as_system():
            assert await store.count("notes") == 9
        await store.insert("plain", {"id": "p"})
    with acting_as(ALICE, policy):
        assert await store.count("plain") == 1


async def test_custom_rules_decide_per_row_by_attributes(store):
    teams = AccessPolicy([AccessRule.model_validate(rule) for rule in (
        {"permit": {"actions": ["read"]}, "when": "user in owners teams"},
        {"permit": {"actions": ["create"]}},
    )])
    carol = User(principal="carol", attributes={"teams": ["blue"]})
    await _seed(store, teams)
    with acting_as(carol, teams):
        page = await store.fetch_all("notes", Query(order_by=[("rank", "asc")], limit=3))
        assert [r["id"] for r in page.data] == ["a0", "a1", "a2"] and page.has_more
        assert await store.count("notes") == 6  # alice's five (same team) and the unowned one
        with pytest.raises(AccessDeniedError):
            await store.delete("notes", {"id": "a0"})


async def test_authorize_checks_a_change_before_a_store_makes_it_elsewhere(store, policy):
    await _seed(store, policy)
    with acting_as(BOB, policy):
        assert await store.authorize("notes", {"id": "b0"}, "update") == 1
        assert await store.authorize("notes", {"id": "a0"}, "update") == 0  # unseen: nothing to change
        with pytest.raises(AccessDeniedError):
            await store.authorize("notes", {"id": "cfg"}, "delete")
    assert await store.authorize("notes", {"id": "cfg"}, "delete") == 1  # auth off
