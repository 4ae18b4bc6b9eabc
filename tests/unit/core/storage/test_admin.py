"""`db status` looks without touching: no SQLite file, folder or PostgreSQL database appears; `db migrate` creates."""

import asyncio

import asyncpg

from polystack.core.config import parse_run_config
from polystack.core.storage.admin import inspect_storage

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def config_with(backends: dict, stores: dict):
    return parse_run_config({"distro_name": "admin", "storage": {"backends": backends, "stores": stores}}, env={})


def sqlite_config(folder):
    return config_with({"kv": {"type": "kv_sqlite", "db_path": str(folder / "kv.db")},
                        "sql": {"type": "sql_sqlite", "db_path": str(folder / "sql.db")}},
                       {"metadata": {"backend": "kv"}, "inference": {"backend": "sql"}})


def postgres_config(db: str):
    common = {**PG, "db": db}
    return config_with({"kv": {"type": "kv_postgres", **common}, "sql": {"type": "sql_postgres", **common}},
                       {"metadata": {"backend": "kv"}, "inference": {"backend": "sql"}})


async def database_exists(name: str) -> bool:
    admin = await asyncpg.connect(database="postgres", **PG)
    try:
        return bool(await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await admin.close()


async def test_status_on_a_fresh_store_folder_creates_nothing(tmp_path):
    folder = tmp_path / "stores"
    reports = await inspect_storage(sqlite_config(folder), migrate=False)
    assert not folder.exists()
    assert all(not r.exists and r.error is None for r in reports)


async def test_status_on_an_existing_sqlite_store_reports_its_migrations_without_writing(tmp_path):
    await inspect_storage(sqlite_config(tmp_path), migrate=True)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    reports = await inspect_storage(sqlite_config(tmp_path), migrate=False)
    assert all(r.reachable and r.exists for r in reports)
    assert next(r for r in reports if r.name == "sql").migrations  # the inference store's tables
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before


async def test_status_reports_a_missing_postgres_database_without_creating_it(pg_db):
    reports = await inspect_storage(postgres_config(pg_db), migrate=False)
    assert all(r.reachable and not r.exists for r in reports)
    assert not await database_exists(pg_db)


async def test_migrate_creates_the_postgres_database_and_status_then_sees_it(pg_db):
    await inspect_storage(postgres_config(pg_db), migrate=True)
    reports = await inspect_storage(postgres_config(pg_db), migrate=False)
    assert all(r.reachable and r.exists for r in reports)
    assert await database_exists(pg_db)


def test_status_reports_an_unreachable_server():
    config = config_with({"kv": {"type": "kv_postgres", **PG, "port": 1}}, {"metadata": {"backend": "kv"}})
    [report] = asyncio.run(inspect_storage(config, migrate=False))
    assert not report.reachable and "127.0.0.1:1" in (report.error or "")
