"""Generated access policies: the SQL store's list (paged), get, count, authorize and create agree with a
reference evaluator written here from Llama Stack's documented rule semantics, on SQLite and PostgreSQL.

The reference: rules are tried in order; a rule applies when its action, principal and resource scope
match and its `when` conditions all hold (or not all of its `unless` conditions hold); the first rule that
applies decides (permit or forbid); none: denied. An empty policy is this project's default: a caller's
own rows, and unowned rows read-only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polystack.apis.datatypes import User
from polystack.apis.errors import AccessDeniedError
from polystack.core.access.policy import AccessPolicy, AccessRule
from polystack.core.request_context import acting_as, as_system
from polystack.core.storage.config import PostgresSQLConfig, SqliteSQLConfig
from polystack.core.storage.sql.api import Column, ColumnType, Query, SQLStore, TableSchema
from polystack.core.storage.sql.factory import open_sql_store
from polystack.testing.postgres_admin import PG_HOST, PG_PORT, create_database, drop_database

TYPE = "thing"
THINGS = TableSchema("things", {"id": Column(ColumnType.STRING, primary_key=True),
                                "rank": Column(ColumnType.INTEGER, nullable=False)}, owned=True, resource_type=TYPE)
ACTIONS = ("create", "read", "update", "delete")
PRINCIPALS = ("ann", "ben", "cat", "dan")
IDS = tuple(f"t{i}" for i in range(8))
VALUES = ("admin", "blue")  # few, so that conditions hold about as often as not
ATTRIBUTES = ("roles", "teams")

# --- generation ------------------------------------------------------------------------------------------

attributes = st.dictionaries(st.sampled_from(ATTRIBUTES), st.lists(st.sampled_from(VALUES), max_size=2, unique=True),
                             max_size=2)
users = st.lists(attributes, min_size=len(PRINCIPALS), max_size=len(PRINCIPALS)).map(
    lambda attrs: [User(principal=p, attributes=a) for p, a in zip(PRINCIPALS, attrs, strict=True)])
conditions = st.one_of(
    st.sampled_from(["user is owner", "user is not owner", "resource is unowned"]),
    st.builds(lambda v, a, neg: f"user with {v} {'not in' if neg else 'in'} {a}",
              st.sampled_from(VALUES), st.sampled_from(ATTRIBUTES), st.booleans()),
    st.builds(lambda a, neg: f"user {'not in' if neg else 'in'} owners {a}",
              st.sampled_from(ATTRIBUTES), st.booleans()),
)


@st.composite
def rules(draw: st.DrawFn) -> dict[str, Any]:
    scope: dict[str, Any] = {"actions": draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=4, unique=True))}
    if draw(st.booleans()):
        scope["principal"] = draw(st.sampled_from(PRINCIPALS))
    resource = draw(st.sampled_from([None, f"{TYPE}::*", "other::*", *(f"{TYPE}::{i}" for i in IDS[:3])]))
    if resource is not None:
        scope["resource"] = resource
    rule: dict[str, Any] = {draw(st.sampled_from(["permit", "forbid"])): scope}
    guard = draw(st.sampled_from([None, "when", "unless"]))
    if guard is not None:
        rule[guard] = draw(st.lists(conditions, min_size=1, max_size=3))
    return rule


policies = st.lists(rules(), max_size=5)


@dataclass(frozen=True)
class Row:
    id: str
    rank: int
    owner: int | None  # index into the users


rows = st.lists(st.tuples(st.integers(0, 3), st.one_of(st.none(), st.integers(0, len(PRINCIPALS) - 1))),
                min_size=2, max_size=len(IDS)).map(
    lambda found: [Row(IDS[i], rank, owner) for i, (rank, owner) in enumerate(found)])

# --- the reference evaluator -----------------------------------------------------------------------------


def holds(condition: str, user: User, owner: User | None) -> bool:
    words = condition.split()
    if words == ["user", "is", "owner"]:
        return owner is not None and owner.principal == user.principal
    if words == ["user", "is", "not", "owner"]:
        return not (owner is not None and owner.principal == user.principal)
    if words == ["resource", "is", "unowned"]:
        return owner is None
    if words[:2] == ["user", "with"]:
        has = words[2] in user.attributes.get(words[-1], [])
        return not has if "not" in words else has
    # user [not] in owners <attribute>: holds when the owner has no such values, or one is shared
    required = owner.attributes.get(words[-1], []) if owner is not None else []
    shared = not required or bool(set(required) & set(user.attributes.get(words[-1], [])))
    return not shared if "not" in words else shared


def reference(policy: list[dict[str, Any]], action: str, identifier: str, owner: User | None, user: User) -> bool:
    if not policy:
        return action == "read" if owner is None else owner.principal == user.principal
    for rule in policy:
        effect = "permit" if "permit" in rule else "forbid"
        scope = rule[effect]
        if action not in scope["actions"] or scope.get("principal", user.principal) != user.principal:
            continue
        if "resource" in scope:
            kind, _, ident = scope["resource"].partition("::")
            if kind != TYPE or ident not in ("*", identifier):
                continue
        if "when" in rule and not all(holds(c, user, owner) for c in rule["when"]):
            continue
        if "unless" in rule and all(holds(c, user, owner) for c in rule["unless"]):
            continue
        return effect == "permit"
    return False


# --- the store under test --------------------------------------------------------------------------------


@dataclass
class Backend:
    runner: asyncio.Runner
    store: SQLStore


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """One store per backend for all examples, on an event loop of its own (the tests are synchronous)."""
    runner = asyncio.Runner()
    database: PostgresSQLConfig | None = None
    if request.param == "sqlite":
        config: SqliteSQLConfig | PostgresSQLConfig = SqliteSQLConfig(
            db_path=str(tmp_path_factory.mktemp("policy") / "store.db"))
    else:
        try:
            config = database = runner.run(create_database("polystack_props", pool_max_size=2))
        except OSError:
            runner.close()
            pytest.skip(f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT}")
    store = runner.run(open_sql_store(config))
    runner.run(store.create_table(THINGS))
    yield Backend(runner, store)
    runner.run(store.close())
    if database is not None:
        runner.run(drop_database(database))
    runner.close()


async def _seed(store: SQLStore, found: list[Row], people: list[User]) -> None:
    with as_system():
        await store.delete(THINGS.name, {})
        for index in {row.owner for row in found}:
            owner = people[index] if index is not None else None
            await store.insert(THINGS.name, [{"id": r.id, "rank": r.rank} for r in found if r.owner == index],
                               owner=owner)


async def _listed(store: SQLStore, page_size: int) -> list[str]:
    """Every row the caller can list, page by page; each page full except the last, `has_more` on all but it."""
    seen: list[str] = []
    after = None
    while True:
        page = await store.fetch_all(THINGS.name, Query(order_by=[("rank", "desc")], after=after, limit=page_size))
        ids = [row["id"] for row in page.data]
        seen += ids
        if not page.has_more:
            assert len(ids) <= page_size
            return seen
        assert len(ids) == page_size
        after = ("id", ids[-1])


async def _check(store: SQLStore, raw: list[dict[str, Any]], found: list[Row], people: list[User],
                 page_size: int) -> None:
    await _seed(store, found, people)
    policy = AccessPolicy([AccessRule.model_validate(rule) for rule in raw])
    ordered = sorted(found, key=lambda r: (r.rank, r.id), reverse=True)  # ties: by id, in the same direction
    for user in people:
        def allowed(action: str, row: Row, user: User = user) -> bool:
            owner = people[row.owner] if row.owner is not None else None
            return reference(raw, action, row.id, owner, user)

        readable = [r.id for r in ordered if allowed("read", r)]
        with acting_as(user, policy):
            assert await _listed(store, page_size) == readable, (user.principal, "list")
            assert await store.count(THINGS.name) == len(readable), (user.principal, "count")
            for row in found:
                got = await store.fetch_one(THINGS.name, {"id": row.id})
                assert (got is not None) == (row.id in readable), (user.principal, "get", row)
                for action in ("update", "delete"):
                    if row.id not in readable:
                        assert await store.authorize(THINGS.name, {"id": row.id}, action) == 0  # type: ignore[arg-type]
                    elif allowed(action, row):
                        assert await store.authorize(THINGS.name, {"id": row.id}, action) == 1  # type: ignore[arg-type]
                    else:
                        with pytest.raises(AccessDeniedError):
                            await store.authorize(THINGS.name, {"id": row.id}, action)  # type: ignore[arg-type]
            new = Row(f"new-{user.principal}", 0, people.index(user))
            if allowed("create", new):
                await store.insert(THINGS.name, {"id": new.id, "rank": 0})
                with as_system():
                    await store.delete(THINGS.name, {"id": new.id})
            else:
                with pytest.raises(AccessDeniedError):
                    await store.insert(THINGS.name, {"id": new.id, "rank": 0})


def _example(backend: Backend, raw: list[dict[str, Any]], found: list[Row], people: list[User],
             page_size: int) -> None:
    backend.runner.run(_check(backend.store, raw, found, people, page_size))


def test_the_store_agrees_with_the_reference_evaluator(backend: Backend, request: pytest.FixtureRequest) -> None:
    """Fewer examples on PostgreSQL, where each costs more round trips."""
    examples = 80 if request.node.callspec.params["backend"] == "sqlite" else 25
    check = settings(deadline=None, max_examples=examples, database=None,
                     suppress_health_check=[HealthCheck.too_slow])(
        given(raw=policies, found=rows, people=users, page_size=st.integers(1, 3))(_example))
    check(backend)
