"""Quotas over HTTP (in-process ASGI), counted in SQLite and in Redis: requests, tokens, streams, headers."""

from __future__ import annotations

from pathlib import Path

import pytest

from polystack.core.config import parse_run_config
from polystack.core.errors import ConfigError

from .conftest import ALICE, BOB, chat, run_config, serving


async def test_requests_per_minute_then_429_with_retry_after_and_openai_headers(tmp_path: Path,
                                                                                quota_store: str) -> None:
    raw = run_config(tmp_path, quota={"rules": [{"requests_per_minute": 2}]}, quota_store=quota_store)
    async with serving(raw) as client:
        alice, bob = client(ALICE), client(BOB)
        first = await alice.post("/v1/chat/completions", json=chat())
        assert first.status_code == 200
        assert first.headers["x-ratelimit-limit-requests"] == "2"
        assert first.headers["x-ratelimit-remaining-requests"] == "1"
        assert first.headers["x-ratelimit-reset-requests"] in ("59s", "1m0s")  # when the first hit leaves the window
        assert (await alice.post("/v1/chat/completions", json=chat())).status_code == 200
        refused = await alice.post("/v1/chat/completions", json=chat())
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        assert refused.json()["error"]["type"] == "requests"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["x-ratelimit-remaining-requests"] == "0"
        assert refused.headers["x-ratelimit-reset-requests"].endswith("s")
        # each caller has their own count ("scope: each")
        assert (await bob.post("/v1/chat/completions", json=chat())).status_code == 200


async def test_tokens_are_counted_from_usage_streams_included(tmp_path: Path, quota_store: str) -> None:
    # the scripted model reports 2 tokens a call: 2, 4 admitted, then 6 >= 5 is spent
    raw = run_config(tmp_path, quota={"rules": [{"tokens_per_minute": 5}]}, quota_store=quota_store)
    async with serving(raw) as client:
        alice = client(ALICE)
        assert (await alice.post("/v1/chat/completions", json=chat())).status_code == 200
        async with alice.stream("POST", "/v1/chat/completions", json=chat(stream=True)) as streamed:
            assert streamed.status_code == 200
            assert streamed.headers["x-ratelimit-limit-tokens"] == "5"
            body = b"".join([part async for part in streamed.aiter_bytes()])
        assert b"[DONE]" in body
        third = await alice.post("/v1/chat/completions", json=chat())
        assert third.status_code == 200, third.text  # 4 spent: 1 left, so it is admitted (and spends 2)
        refused = await alice.post("/v1/chat/completions", json=chat(stream=True))
        assert refused.status_code == 429
        assert refused.json()["error"]["type"] == "tokens"
        assert refused.headers["x-ratelimit-remaining-tokens"] == "0"
        assert int(refused.headers["retry-after"]) >= 1


async def test_team_shared_quota_and_model_rule(tmp_path: Path, quota_store: str) -> None:
    raw = run_config(tmp_path, quota={"rules": [
        {"team": "blue", "scope": "shared", "requests_per_minute": 1},
        {"model": "scripted/scripted-model", "principal": "bob", "requests_per_minute": 1},
    ]}, quota_store=quota_store)
    async with serving(raw) as client:
        alice, bob = client(ALICE), client(BOB)
        assert (await alice.post("/v1/chat/completions", json=chat())).status_code == 200
        assert (await alice.post("/v1/chat/completions", json=chat())).status_code == 429
        assert (await bob.post("/v1/chat/completions", json=chat())).status_code == 200  # not in team blue
        assert (await bob.post("/v1/chat/completions", json=chat())).status_code == 429  # his model rule
        assert (await bob.get("/v1/models")).status_code == 200  # rules limit inference calls only


async def test_llama_stack_fields_limit_every_route_per_period(tmp_path: Path, quota_store: str) -> None:
    raw = run_config(tmp_path, quota={"authenticated_max_requests": 2, "period": "hour"}, quota_store=quota_store)
    async with serving(raw) as client:
        alice = client(ALICE)
        assert (await alice.get("/v1/models")).status_code == 200
        assert (await alice.get("/v1/models")).status_code == 200
        refused = await alice.get("/v1/models")
        assert refused.status_code == 429
        assert refused.headers["x-ratelimit-limit-requests"] == "2"
        assert 3000 < int(refused.headers["retry-after"]) <= 3600
        assert (await alice.get("/v1/health")).status_code == 200  # health stays open


async def test_anonymous_max_requests_without_auth(tmp_path: Path) -> None:
    raw = run_config(tmp_path, quota={"anonymous_max_requests": 1, "period": "minute"}, auth=False)
    async with serving(raw) as client:
        anonymous = client(None)
        assert (await anonymous.get("/v1/models")).status_code == 200
        assert (await anonymous.get("/v1/models")).status_code == 429


def test_quota_config_is_validated(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least one"):
        parse_run_config(run_config(tmp_path, quota={"rules": [{"principal": "alice"}]}))
    with pytest.raises(ConfigError, match="period"):
        parse_run_config(run_config(tmp_path, quota={"period": "week"}))
    with pytest.raises(ConfigError, match="storage.stores.quotas"):
        parse_run_config(run_config(tmp_path, quota={"kvstore": {"type": "sqlite", "db_path": "q.db"}}))
    raw = run_config(tmp_path, quota={"rules": [{"requests_per_minute": 1}]})
    raw["storage"]["backends"]["kv"] = {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}
    raw["storage"]["stores"]["quotas"] = {"backend": "kv"}
    with pytest.raises(ConfigError, match="kv_redis or sql_"):
        parse_run_config(raw)
