"""The audit log's content switch (server.audit.include_content): off, no content ever; on, content without secrets.

A scripted session (conversations and prompts over HTTP, in-process) sends a marker string in every
content-bearing field, a provider-data API key and the caller's own bearer token inside that content; the
whole audit table is then read with SQL, every column of every row.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from polystack.core.audit.content import CAPTURE_BYTES, TRUNCATED

from .conftest import ADMIN, ALICE, BOB, run_config, serving

PROVIDER_KEY = "sk-provider-data-4f1e9a77c2"


def session_config(tmp_path: Path, **audit: Any) -> dict[str, Any]:
    raw = run_config(tmp_path)
    raw["apis"] = ["inference", "conversations", "prompts"]
    raw["storage"]["stores"] |= {"conversations": {"backend": "sql", "table_name": "conversations"},
                                 "prompts": {"backend": "sql", "table_name": "prompts"}}
    raw["server"]["audit"] = {"flush_seconds": 0.05, **audit}
    return raw


async def scripted_session(client: Any, marker: str) -> list[tuple[str, str, str]]:
    """Create, update and delete as alice, a denied delete as bob; returns the actions it expects audited."""
    alice = client(ALICE)
    alice.headers["X-LlamaStack-Provider-Data"] = json.dumps({"openai_api_key": PROVIDER_KEY})
    words = f"{marker} my key is {PROVIDER_KEY} and my token {ALICE}"
    created = await alice.post("/v1/conversations", json={
        "items": [{"type": "message", "role": "user", "content": words}],
        "metadata": {"topic": "audit"}})
    assert created.status_code == 200, created.text
    conversation = created.json()["id"]
    added = await alice.post(f"/v1/conversations/{conversation}/items", json={
        "items": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": words}],
                   "api_key": "sk-inline-1234"}]})
    assert added.status_code == 200, added.text
    prompt = await alice.post("/v1/prompts", json={"prompt": f"Answer {{{{ question }}}} {marker}",
                                                   "variables": ["question"]})
    assert prompt.status_code == 200, prompt.text
    assert (await client(BOB).delete(f"/v1/conversations/{conversation}")).status_code == 404
    assert (await alice.delete(f"/v1/conversations/{conversation}")).status_code == 200
    assert (await client(BOB).post("/v1/keys", json={"principal": "bob"})).status_code == 403
    return [("alice", "create", "allowed"), ("alice", "delete", "allowed"), ("bob", "create", "denied")]


async def audit_table(client: Any, db_path: Path) -> list[dict[str, Any]]:
    """Every row of the audit table, after the admin's read (which flushes what is pending)."""
    assert (await client(ADMIN).get("/v1/audit")).status_code == 200
    engine = create_async_engine(f"sqlite+aiosqlite:///{db_path}")
    try:
        async with engine.connect() as conn:
            return [dict(row._mapping) for row in await conn.execute(sa.text("SELECT * FROM polystack_audit_log"))]
    finally:
        await engine.dispose()


async def test_without_the_switch_the_audit_log_never_holds_content(tmp_path: Path) -> None:
    marker = f"marker-{uuid.uuid4().hex}"
    async with serving(session_config(tmp_path)) as client:
        expected = await scripted_session(client, marker)
        rows = await audit_table(client, tmp_path / "sql.db")
        listed = (await client(ADMIN).get("/v1/audit", params={"limit": 1000})).json()["data"]
    dumped = json.dumps(rows, default=str) + json.dumps(listed)
    assert marker not in dumped and PROVIDER_KEY not in dumped and ALICE not in dumped
    assert all(row["content"] is None for row in rows) and all(entry["content"] is None for entry in listed)
    audited = {(r["principal"], r["action"], r["outcome"]) for r in rows}
    assert set(expected) <= audited, audited  # the session's actions are listed all the same
    assert {r["resource_type"] for r in rows} >= {"conversation", "prompt", "api_key"}


async def test_with_the_switch_entries_hold_the_request_s_content_but_no_secret(tmp_path: Path) -> None:
    marker = f"marker-{uuid.uuid4().hex}"
    async with serving(session_config(tmp_path, include_content=True)) as client:
        await scripted_session(client, marker)
        rows = await audit_table(client, tmp_path / "sql.db")
        listed = (await client(ADMIN).get("/v1/audit", params={"limit": 1000})).json()["data"]
    with_content = [row for row in rows if row["content"] and marker in row["content"]]
    created = {(row["resource_type"], row["action"]) for row in with_content}
    assert ("conversation", "create") in created and ("prompt", "create") in created, rows
    assert any(entry["content"] and marker in entry["content"] for entry in listed)  # served by /v1/audit too
    dumped = json.dumps(rows, default=str)
    assert PROVIDER_KEY not in dumped and ALICE not in dumped and "sk-inline-1234" not in dumped
    assert "********" in dumped  # masked where they were, not dropped silently
    deletes = [row for row in rows if row["action"] == "delete"]
    assert deletes and all(row["content"] is None for row in deletes)  # a DELETE has no body: nothing to record


async def test_content_is_cut_at_its_bound(tmp_path: Path) -> None:
    async with serving(session_config(tmp_path, include_content=True, max_content_bytes=512)) as client:
        long = "y" * 5000
        made = await client(ALICE).post("/v1/conversations", json={
            "items": [{"type": "message", "role": "user", "content": long}]})
        assert made.status_code == 200, made.text
        rows = await audit_table(client, tmp_path / "sql.db")
    content = next(row["content"] for row in rows if row["resource_type"] == "conversation")
    assert content.endswith(TRUNCATED) and len(content.encode()) <= 512 and CAPTURE_BYTES > 5000
