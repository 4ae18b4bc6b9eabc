"""One contract suite for the SQL store, run on SQLite (a temp file) and on the real PostgreSQL."""

from __future__ import annotations

import asyncio
import socket
import traceback
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import SecretStr

from polystack.apis.datatypes import User
from polystack.apis.errors import ConflictError, InvalidRequestError, ServiceUnavailableError
from polystack.core.storage.config import PostgresSQLConfig, SQLBackendConfig, SqliteSQLConfig
from polystack.core.storage.sql.api import Column, ColumnType, Query, SQLStore, TableSchema
from polystack.core.storage.sql.factory import open_sql_store
from polystack.testing.postgres_admin import PG_HOST, PG_PORT, admin_sql
from polystack.testing.tcp_proxy import TcpProxy

ITEMS = TableSchema(
    name="items",
    columns={
        "id": Column(ColumnType.STRING, primary_key=True),
        "created_at": Column(ColumnType.DATETIME, nullable=False, index=True),
        "rank": Column(ColumnType.INTEGER),
        "score": Column(ColumnType.FLOAT),
        "done": Column(ColumnType.BOOLEAN),
        "body": Column(ColumnType.TEXT),
        "metadata": Column(ColumnType.JSON),
    },
    owned=True,
)
T0 = datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Any) -> SQLBackendConfig:
    if request.param == "sqlite":
        return SqliteSQLConfig(db_path=str(tmp_path / "not-yet-created" / "store.db"))
    config: PostgresSQLConfig = request.getfixturevalue("pg_database")
    return config


@pytest.fixture
async def store(backend: SQLBackendConfig) -> AsyncIterator[SQLStore]:
    if isinstance(backend, PostgresSQLConfig):  # every test starts from an empty schema
        await admin_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public", database=backend.db)
    opened = await open_sql_store(backend)
    yield opened
    await opened.close()


def _item(i: int, **overrides: Any) -> dict[str, Any]:
    row = {"id": f"item-{i:02d}", "created_at": T0, "rank": i, "score": i / 2, "done": i % 2 == 0,
           "body": f"body {i}", "metadata": {"topic": "even" if i % 2 == 0 else "odd", "n": i}}
    return row | overrides


def _ids(rows: list[dict[str, Any]]) -> list[str]:
    return [row["id"] for row in rows]


async def test_store_satisfies_the_protocol_and_create_table_is_idempotent(store: SQLStore) -> None:
    assert isinstance(store, SQLStore)
    await store.create_table(ITEMS)
    await store.insert("items", _item(1))
    await store.create_table(ITEMS)
    assert await store.count("items") == 1


async def test_insert_takes_one_row_or_many(store: SQLStore) -> None:
    await store.create_table(ITEMS)
    await store.insert("items", _item(1))
    await store.insert("items", [_item(2), _item(3, body=None), _item(4)])
    await store.insert("items", [])
    assert await store.count("items") == 4
    assert (await store.fetch_one("items", {"id": "item-03"}) or {})["body"] is None


async def test_duplicate_primary_key_raises_conflict_and_a_batch_is_all_or_nothing(store: SQLStore) -> None:
    await store.create_table(ITEMS)
    await store.insert("items", _item(1))
    with pytest.raises(ConflictError, match="items"):
        await store.insert("items", _item(1, body="again"))
    with pytest.raises(ConflictError):
        await store.insert("items", [_item(2), _item(1)])
    assert _ids((await store.fetch_all("items")).data) == ["item-01"]


async def test_upsert_inserts_then_updates(store: SQLStore) -> None:
    await store.create_table(ITEMS)
    alice = User(principal="alice", attributes={"roles": ["admin"]})
    await store.upsert("items", _item(1, body="first"), ["id"], owner=alice)
    await store.upsert("items", _item(1, body="second", metadata={"v": 2}), ["id"], owner=alice)
    row = await store.fetch_one("items", {"id": "item-01"})
    assert row is not None
    assert (row["body"], row["metadata"], row["owner_principal"]) == ("second", {"v": 2}, "alice")
    assert row["owner_attributes"] == {"roles": ["admin"]}
    assert await store.count("items") == 1


async def test_fetch_all_filters_by_columns_and_json_keys_orders_and_limits(store: SQLStore) -> None:
    await store.create_table(ITEMS)
    await store.insert("items", [_item(i, created_at=T0 + timedelta(seconds=i % 3)) for i in range(1, 9)])

    page = await store.fetch_all("items", Query(where={"done": True}, order_by=[("rank", "desc")]))
    assert _ids(page.data) == ["item-08", "item-06", "item-04", "item-02"]
    assert not page.has_more

    odd = Query(json_equals={"metadata": {"topic": "odd"}}, order_by=[("rank", "asc")])
    topic = await store.fetch_all("items", odd)
    assert _ids(topic.data) == ["item-01", "item-03", "item-05", "item-07"]
    number = await store.fetch_all("items", Query(json_equals={"metadata": {"n": 5, "topic": "odd"}}))
    assert _ids(number.data) == ["item-05"]
    assert (await store.fetch_all("items", Query(json_equals={"metadata": {"n": "5"}}))).data == []

    newest = Query(order_by=[("created_at", "desc"), ("rank", "asc")], limit=4)
    ordered = await store.fetch_all("items", newest)
    assert _ids(ordered.data) == ["item-02", "item-05", "item-08", "item-01"]
    assert ordered.has_more
    next_page = await store.fetch_all("items", replace(newest, after=("id", "item-05"), limit=3))
    assert _ids(next_page.data) == ["item-08", "item-01", "item-04"]
    with pytest.raises(InvalidRequestError, match="nope"):
        await store.fetch_all("items", Query(where={"nope": 1}))


async def test_a_page_size_beyond_64_bits_is_served_not_an_overflow(store: SQLStore) -> None:
    await store.create_table(ITEMS)
    await store.insert("items", [_item(1), _item(2)])
    page = await store.fetch_all("items", Query(order_by=[("rank", "asc")], limit=2**70))
    assert _ids(page.data) == ["item-01", "item-02"]
    assert not page.has_more


@pytest.mark.parametrize("direction", ["asc", "desc"])
async def test_cursor_pages_never_skip_or_repeat_rows_with_equal_timestamps(
    store: SQLStore, direction: str
) -> None:
    await store.create_table(ITEMS)
    await store.insert("items", [_item(i) for i in range(25)])  # all share created_at
    seen: list[str] = []
    after: tuple[str, Any] | None = None
    pages = []
    while True:
        query = Query(order_by=[("created_at", direction)], after=after, limit=10)
        page = await store.fetch_all("items", query)
        pages.append((len(page.data), page.has_more))
        seen += _ids(page.data)
        if not page.has_more:
            break
        after = ("id", page.data[-1]["id"])
    assert pages == [(10, True), (10, True), (5, False)]
    assert seen == sorted(seen, reverse=direction == "desc")
    assert len(set(seen)) == 25


@pytest.mark.parametrize("direction", ["asc", "desc"])
async def test_cursor_pages_through_null_values(store: SQLStore, direction: str) -> None:
    await store.create_table(ITEMS)
    await store.insert("items", [_item(i, rank=None if i % 3 == 0 else i % 4) for i in range(9)])
    whole = _ids((await store.fetch_all("items", Query(order_by=[("rank", direction)]))).data)
    paged: list[str] = []
    after: tuple[str, Any] | None = None
    while True:
        page = await store.fetch_all("items", Query(order_by=[("rank", direction)], after=after, limit=2))
        paged += _ids(page.data)
        if not page.has_more:
            break
        after = ("id", paged[-1])
    assert paged == whole and len(set(whole)) == 9
    nulls_at = [i for i, name in enumerate(whole) if int(name[-2:]) % 3 == 0]
    assert nulls_at == ([0, 1, 2] if direction == "asc" else [6, 7, 8])  # NULL sorts as the smallest


async def test_a_cursor_naming_a_missing_row_is_an_invalid_request(store: SQLStore) -> None:
    await store.create_table(ITEMS)
    await store.insert("items", _item(1))
    with pytest.raises(InvalidRequestError, match="item-99") as raised:
        await store.fetch_all("items", Query(after=("id", "item-99")))
    assert raised.value.param == "after"


async def test_owner_filter_keeps_only_the_principals_rows(store: SQLStore) -> None:
    await store.create_table(ITEMS)
    await store.insert("items", [_item(1), _item(2)], owner=User(principal="alice"))
    await store.insert("items", _item(3), owner=User(principal="bob"))
    alice = await store.fetch_all("items", Query(owner="alice", order_by=[("rank", "asc")]))
    assert _ids(alice.data) == ["item-01", "item-02"]
    assert _ids((await store.fetch_all("items", Query(owner="bob"))).data) == ["item-03"]
    with pytest.raises(InvalidRequestError):  # bob's row is no cursor for alice
        await store.fetch_all("items", Query(owner="alice", after=("id", "item-03")))


async def test_update_and_delete_return_how_many_rows_they_touched(store: SQLStore) -> None:
    await store.create_table(ITEMS)
    await store.insert("items", [_item(i) for i in range(1, 6)])
    assert await store.update("items", {"body": "even"}, {"done": True}) == 2
    assert await store.update("items", {"body": "x"}, {"id": "missing"}) == 0
    assert await store.count("items", {"body": "even"}) == 2
    assert await store.delete("items", {"done": False}) == 3
    assert await store.delete("items", {"done": False}) == 0
    assert await store.count("items") == 2


async def test_values_round_trip_with_their_types(store: SQLStore) -> None:
    await store.create_table(ITEMS)
    nested = {"a": [1, 2.5, {"b": None, "c": [True, "é"]}], "d": {"e": {"f": "g"}}}
    paris = timezone(timedelta(hours=1))
    await store.insert("items", _item(1, metadata=nested, created_at=datetime(2025, 6, 1, 12, tzinfo=paris),
                                       score=0.125, done=True))
    row = await store.fetch_one("items", {"id": "item-01"})
    assert row is not None
    assert row["metadata"] == nested
    assert row["created_at"] == datetime(2025, 6, 1, 11, tzinfo=UTC) and row["created_at"].tzinfo is not None
    assert (row["score"], row["done"], row["rank"]) == (0.125, True, 1)
    assert await store.fetch_one("items", {"id": "missing"}) is None


async def test_migrations_run_once_each_in_order(store: SQLStore) -> None:
    ran: list[str] = []

    async def create_notes(s: SQLStore) -> None:
        ran.append("create")
        await s.execute("CREATE TABLE notes (id VARCHAR PRIMARY KEY, text TEXT)")

    async def add_title(s: SQLStore) -> None:
        ran.append("title")
        await s.add_column("notes", "title", Column(ColumnType.STRING, index=True))

    assert await store.migrate("notes", [create_notes]) == 1
    assert await store.migrate("notes", [create_notes, add_title]) == 1
    assert await store.migrate("notes", [create_notes, add_title]) == 0
    assert ran == ["create", "title"]
    assert await store.applied_migrations() == {"notes": 2}
    insert = "INSERT INTO notes (id, title) VALUES (:id, :title)"
    assert await store.execute(insert, {"id": "n1", "title": "t"}) == 1


async def test_add_column_reaches_the_declared_table_and_skips_an_existing_column(store: SQLStore) -> None:
    await store.create_table(ITEMS)
    await store.insert("items", _item(1))

    async def add_tags(s: SQLStore) -> None:
        await s.add_column("items", "tags", Column(ColumnType.JSON))
        await s.add_column("items", "tags", Column(ColumnType.JSON))

    assert await store.migrate("items", [add_tags]) == 1
    await store.insert("items", _item(2, tags=["x"]))
    assert (await store.fetch_one("items", {"id": "item-02"}) or {})["tags"] == ["x"]


async def test_two_stores_migrating_at_once_apply_each_migration_exactly_once(backend: SQLBackendConfig,
                                                                              store: SQLStore) -> None:
    other = await open_sql_store(backend)
    applied: list[int] = []

    def step(version: int) -> Any:
        async def migration(s: SQLStore) -> None:
            applied.append(version)
            if version == 1:
                await s.execute("CREATE TABLE steps (version INTEGER PRIMARY KEY)")
            await asyncio.sleep(0.05)  # widen the window in which the other store could interleave
            await s.execute("INSERT INTO steps (version) VALUES (:v)", {"v": version})
        return migration

    migrations = [step(1), step(2), step(3)]
    try:
        counts = await asyncio.gather(store.migrate("steps", migrations), other.migrate("steps", migrations))
    finally:
        await other.close()
    assert sum(counts) == 3
    assert sorted(applied) == [1, 2, 3]
    assert await store.applied_migrations() == {"steps": 3}


async def test_a_failing_migration_raises_and_leaves_the_version_unchanged(store: SQLStore) -> None:
    async def first(s: SQLStore) -> None:
        await s.execute("CREATE TABLE first_table (id INTEGER PRIMARY KEY)")

    async def broken(s: SQLStore) -> None:
        await s.execute("CREATE TABLE half_done (id INTEGER PRIMARY KEY)")
        raise RuntimeError("boom")

    async def fixed(s: SQLStore) -> None:
        await s.execute("CREATE TABLE half_done (id INTEGER PRIMARY KEY)")  # fails if the DDL had stayed

    with pytest.raises(RuntimeError, match="boom") as raised:
        await store.migrate("demo", [first, broken])
    assert "migration 2 of 'demo'" in "".join(raised.value.__notes__)
    assert await store.applied_migrations() == {"demo": 1}
    assert await store.migrate("demo", [first, fixed]) == 1
    assert await store.applied_migrations() == {"demo": 2}


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_unreachable_postgres_is_service_unavailable_naming_the_address_not_the_password() -> None:
    config = PostgresSQLConfig(host="127.0.0.1", port=_unused_port(), db="app", password="hunter2-secret")
    with pytest.raises(ServiceUnavailableError) as raised:
        await open_sql_store(config)
    assert config.address() in raised.value.message
    assert "sql_postgres" in raised.value.message
    assert "hunter2" not in "".join(traceback.format_exception(raised.value))


async def test_postgres_store_is_unavailable_while_the_server_is_gone_and_recovers_after(
    pg_database: PostgresSQLConfig,
) -> None:
    await admin_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public", database=pg_database.db)
    proxy = TcpProxy(PG_PORT, PG_HOST)
    await proxy.start()
    through_proxy = pg_database.model_copy(update={"port": proxy.port, "password": SecretStr("pw-secret")})
    store = await open_sql_store(through_proxy)
    try:
        await store.create_table(ITEMS)
        await store.insert("items", _item(1))
        await proxy.stop()
        with pytest.raises(ServiceUnavailableError, match=f"127.0.0.1:{proxy.port}") as raised:
            await store.count("items")
        assert "pw-secret" not in "".join(traceback.format_exception(raised.value))
        await proxy.start()
        assert await store.count("items") == 1
    finally:
        await store.close()
        await proxy.stop()


# Strings that must come back exactly: NUL (PostgreSQL refuses it in text and jsonb), the control
# characters an escaping scheme might use, a literal backslash-u0000, and their mixes.
AWKWARD = ["a\x00b", "\x00", "\x01", "\x01\x01", "\x01\x00\x02", "\\u0000", "\\u0001", "\\\x00", "plain"]


async def test_every_string_round_trips_exactly_in_ids_text_and_json(store: SQLStore) -> None:
    await store.create_table(ITEMS)
    owner = User(principal="o\x00wner", attributes={"team\x00": ["x\x00"]})
    rows = [_item(i, id=f"id-{text}", body=text, metadata={"k": text, f"k{text}": text, "list": [text, {text: text}]})
            for i, text in enumerate(AWKWARD)]
    await store.insert("items", rows, owner=owner)
    for i, text in enumerate(AWKWARD):
        row = await store.fetch_one("items", {"id": f"id-{text}"})
        assert row is not None
        assert (row["id"], row["body"], row["metadata"]) == (f"id-{text}", text, rows[i]["metadata"])
        assert (row["owner_principal"], row["owner_attributes"]) == ("o\x00wner", {"team\x00": ["x\x00"]})
        by_value = await store.fetch_all("items", Query(json_equals={"metadata": {"k": text}}))
        assert _ids(by_value.data) == [f"id-{text}"]
    owned = await store.fetch_all("items", Query(owner="o\x00wner"))
    assert sorted(_ids(owned.data)) == sorted(f"id-{text}" for text in AWKWARD)
    assert await store.update("items", {"body": "new\x00"}, {"id": "id-a\x00b"}) == 1
    assert (await store.fetch_one("items", {"id": "id-a\x00b"}) or {})["body"] == "new\x00"
    await store.upsert("items", _item(0, id="id-a\x00b", body="up\x00"), ["id"])
    assert (await store.fetch_one("items", {"id": "id-a\x00b"}) or {})["body"] == "up\x00"


async def test_a_json_filter_key_with_nul_matches_exactly_or_is_refused_on_sqlite(
    store: SQLStore, backend: SQLBackendConfig
) -> None:
    await store.create_table(ITEMS)
    await store.insert("items", [_item(1, metadata={"a\x00b": "x"}), _item(2, metadata={"a\x00c": "x", "a": "x"})])
    query = Query(json_equals={"metadata": {"a\x00b": "x"}})
    if isinstance(backend, SqliteSQLConfig):
        with pytest.raises(InvalidRequestError, match="U\\+0000"):
            await store.fetch_all("items", query)
    else:
        assert _ids((await store.fetch_all("items", query)).data) == ["item-01"]


async def test_insert_ignoring_existing_rows_keeps_them_and_adds_the_rest(store: SQLStore) -> None:
    await store.create_table(ITEMS)
    await store.insert("items", _item(1, body="first"))
    await store.insert("items", [_item(1, body="replayed"), _item(2)], ignore_existing=True)
    rows = (await store.fetch_all("items", Query(order_by=[("id", "asc")]))).data
    assert [(row["id"], row["body"]) for row in rows] == [("item-01", "first"), ("item-02", "body 2")]


async def test_a_page_size_beyond_64_bit_integers_means_every_row(store: SQLStore) -> None:
    await store.create_table(ITEMS)
    await store.insert("items", [_item(1), _item(2)])
    page = await store.fetch_all("items", Query(limit=2**70))
    assert _ids(page.data) == ["item-01", "item-02"] and not page.has_more
