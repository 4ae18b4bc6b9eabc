"""An audit table made before the content switch gains its `content` column at start (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from polystack.core.audit.log import AUDIT, AuditLog
from polystack.core.storage.config import SqliteSQLConfig
from polystack.core.storage.sql.engines import create_engine
from polystack.testing.postgres_admin import create_database, drop_database

OLD_COLUMNS = [column for column in AUDIT.columns if column.name != "content"]


@pytest.fixture(params=["sqlite", "postgres"])
async def engine_config(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[object]:
    if request.param == "sqlite":
        yield SqliteSQLConfig(db_path=str(tmp_path / "audit.db"))
        return
    config = await create_database("polystack_audit")
    try:
        yield config
    finally:
        await drop_database(config)


async def test_an_audit_table_without_content_gains_the_column_and_keeps_its_rows(engine_config) -> None:  # type: ignore[no-untyped-def]
    old = sa.Table(AUDIT.name, sa.MetaData(), *(sa.Column(c.name, c.type, primary_key=c.primary_key)
                                                for c in OLD_COLUMNS))
    engine = create_engine(engine_config)
    async with engine.begin() as conn:
        await conn.run_sync(old.metadata.create_all)
        await conn.execute(old.insert(), [{"id": "aud_0", "created_at": 1.0, "action": "create",
                                           "resource_type": "prompt", "outcome": "allowed"}])
    await engine.dispose()

    for _ in range(2):  # a second start (another replica) finds the column there
        log = AuditLog(create_engine(engine_config), include_content=True)
        await log.start()
        log.add("delete", "prompt", "pmpt_1", "allowed")
        rows, _ = await log.query()
        await log.close()
    assert [row["id"] for row in rows][0] == "aud_0" and rows[0]["content"] is None
    assert len(rows) == 3 and {row["resource_id"] for row in rows[1:]} == {"pmpt_1"}
