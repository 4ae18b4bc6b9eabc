"""Serving conversations: the stack serves the API itself once `apis:` names it, from its configured store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import polystack
from polystack.core.config import parse_run_config
from polystack.core.errors import ConfigError, StackError


def config(tmp_path: Path, stores: dict[str, Any], apis: list[str] | None = None) -> Any:
    return parse_run_config({
        "distro_name": "conversations",
        "apis": apis or ["inference", "conversations"],
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}]},
        "storage": {"backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                                 "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
                    "stores": {"metadata": {"backend": "kv"}, **stores}},
        "models": {"refresh_interval_seconds": 0},
    }, env={})


async def test_conversations_are_served_without_providers_and_persist(tmp_path: Path) -> None:
    stores = {"conversations": {"backend": "sql", "table_name": "chats"}}
    async with polystack.connect(config(tmp_path, stores)) as stack:
        created = await stack.openai.conversations.create(items=[{"role": "user", "content": "kept"}])
    async with polystack.connect(config(tmp_path, stores)) as stack:  # a restart (or another replica)
        items = await stack.openai.conversations.items.list(created.id)
        assert [item.content[0].text for item in items.data] == ["kept"]  # type: ignore[union-attr]


async def test_not_served_unless_apis_names_it(tmp_path: Path) -> None:
    stores = {"conversations": {"backend": "sql"}}
    async with polystack.connect(config(tmp_path, stores, apis=["inference"])) as stack:
        assert "conversations" not in stack.stack.impls
        assert (await stack.http.get("/v1/conversations/conv_x")).status_code == 404


async def test_serving_without_a_store_stops_startup_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="storage.stores.conversations"):
        async with polystack.connect(config(tmp_path, {})):
            pass


def test_a_kv_backend_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="stores.conversations needs a sql_"):
        config(tmp_path, {"conversations": {"backend": "kv"}})


async def test_db_migrate_creates_the_conversation_tables(tmp_path: Path) -> None:
    from polystack.core.storage.admin import inspect_storage

    run_config = config(tmp_path, {"conversations": {"backend": "sql", "table_name": "chats"}})
    [sql_report] = [r for r in await inspect_storage(run_config, migrate=True) if r.name == "sql"]
    assert sql_report.error is None and sql_report.migrations.get("conversations:chats") == 1
    assert "conversations" in sql_report.stores


async def test_what_serves_the_api_implements_its_protocol(tmp_path: Path) -> None:
    from polystack.apis.conversations.protocol import Conversations

    async with polystack.connect(config(tmp_path, {"conversations": {"backend": "sql"}})) as stack:
        assert isinstance(stack.stack.impls["conversations"], Conversations)
