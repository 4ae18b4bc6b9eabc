"""Virtual keys end to end (in-process ASGI): admin API, use, models, quota, budget, rotate, revoke, audit."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from polystack.apis.inference.types import EmbeddingsRequest
from polystack.core.routing.hooks import HookBase, InferenceCall

from .conftest import ADMIN, ALICE, chat, run_config, serving

EMBED = {"model": "scripted/scripted-embedding", "input": "hello"}


async def test_key_lifecycle_and_audit(tmp_path: Path) -> None:
    async with serving(run_config(tmp_path)) as client:
        admin, alice = client(ADMIN), client(ALICE)
        assert (await alice.post("/v1/keys", json={"principal": "mallory"})).status_code == 403
        assert (await alice.get("/v1/keys")).status_code == 403
        created = await admin.post("/v1/keys", json={
            "principal": "svc-bot", "attributes": {"teams": ["blue"]}, "name": "bot",
            "allowed_models": ["scripted/scripted-model"], "expires_at": int(time.time()) + 3600})
        assert created.status_code == 200, created.text
        key = created.json()
        secret = key["value"]
        assert secret.startswith("sk-ps-") and key["status"] == "active"
        assert key["redacted_value"].endswith(secret[-4:]) and secret not in key["redacted_value"]
        got = (await admin.get(f"/v1/keys/{key['id']}")).json()
        assert "value" not in got and got["principal"] == "svc-bot"
        listed = (await admin.get("/v1/keys")).json()
        assert [k["id"] for k in listed["data"]] == [key["id"]] and secret not in json.dumps(listed)

        bot = client(secret)
        answered = await bot.post("/v1/chat/completions", json=chat())
        assert answered.status_code == 200, answered.text
        streamed = await bot.post("/v1/chat/completions", json=chat(stream=True))
        assert streamed.status_code == 200
        not_allowed = await bot.post("/v1/embeddings", json=EMBED)
        assert not_allowed.status_code == 404 and not_allowed.json()["error"]["code"] == "model_not_found"
        assert (await bot.get("/v1/keys")).status_code == 403  # a key's holder is no admin

        usage = (await admin.get(f"/v1/keys/{key['id']}/usage")).json()
        assert usage["requests"] == 2 and usage["tokens_in"] == 2 and usage["tokens_out"] == 2
        assert usage["models"][0]["model"] == "scripted/scripted-model"

        rotated = (await admin.post(f"/v1/keys/{key['id']}/rotate")).json()
        assert rotated["id"] == key["id"] and rotated["value"] != secret
        assert (await bot.post("/v1/chat/completions", json=chat())).status_code == 401
        fresh = client(rotated["value"])
        assert (await fresh.post("/v1/chat/completions", json=chat())).status_code == 200
        revoked = await admin.delete(f"/v1/keys/{key['id']}")
        assert revoked.status_code == 200 and revoked.json()["deleted"] is True
        refused = await fresh.post("/v1/chat/completions", json=chat())
        assert refused.status_code == 401 and "www-authenticate" in refused.headers
        assert (await admin.get(f"/v1/keys/{key['id']}")).json()["status"] == "revoked"

        entries = (await admin.get("/v1/audit")).json()["data"]
        actions = [(e["principal"], e["action"], e["resource_type"], e["outcome"]) for e in entries]
        assert ("root", "create", "api_key", "allowed") in actions
        assert ("root", "update", "api_key", "allowed") in actions
        assert ("root", "delete", "api_key", "allowed") in actions
        assert ("alice", "create", "api_key", "denied") in actions
        assert actions.count(("svc-bot", "create", "chat_completion", "allowed")) == 3  # the stored completions
        assert ("svc-bot", "read", "api_key", "denied") in actions
        assert any(e["key_id"] == key["id"] for e in entries if e["principal"] == "svc-bot")
        dumped = json.dumps(entries)
        assert secret not in dumped and rotated["value"] not in dumped and "hi" not in dumped.split('"')
        assert (await alice.get("/v1/audit")).status_code == 403
        page = (await admin.get("/v1/audit", params={"limit": 2})).json()
        assert page["has_more"] is True
        rest = (await admin.get("/v1/audit", params={"after": page["last_id"], "limit": 100})).json()
        paged = [e["id"] for e in page["data"] + rest["data"]]
        assert paged[:len(entries)] == [e["id"] for e in entries]  # then alice's denied read of the audit
        only = (await admin.get("/v1/audit", params={"principal": "alice"})).json()["data"]
        assert only and {e["principal"] for e in only} == {"alice"}
        later = (await admin.get("/v1/audit", params={"since": time.time() + 60})).json()["data"]
        assert later == []


async def test_key_budget_and_quota(tmp_path: Path) -> None:
    async with serving(run_config(tmp_path)) as client:
        admin = client(ADMIN)
        budget = (await admin.post("/v1/keys", json={"principal": "spender", "budget_tokens": 3})).json()
        spender = client(budget["value"])
        assert (await spender.post("/v1/chat/completions", json=chat())).status_code == 200  # 2 spent
        assert (await spender.post("/v1/chat/completions", json=chat())).status_code == 200  # 4 spent
        broke = await spender.post("/v1/chat/completions", json=chat())
        assert broke.status_code == 429 and broke.json()["error"]["code"] == "insufficient_quota"
        assert (await admin.get(f"/v1/keys/{budget['id']}")).json()["spent_tokens"] == 4

        limited = (await admin.post("/v1/keys", json={"principal": "slow",
                                                      "quota": {"requests_per_minute": 1}})).json()
        slow = client(limited["value"])
        ok = await slow.post("/v1/chat/completions", json=chat())
        assert ok.status_code == 200 and ok.headers["x-ratelimit-limit-requests"] == "1"
        assert (await slow.post("/v1/chat/completions", json=chat())).status_code == 429


async def test_expired_and_invalid_keys_are_401(tmp_path: Path) -> None:
    async with serving(run_config(tmp_path)) as client:
        admin = client(ADMIN)
        past = await admin.post("/v1/keys", json={"principal": "x", "expires_at": 1})
        assert past.status_code == 400 and past.json()["error"]["param"] == "expires_at"
        soon = (await admin.post("/v1/keys", json={"principal": "x", "expires_at": int(time.time()) + 2})).json()
        assert (await client(soon["value"]).get("/v1/models")).status_code == 200
        assert (await client("sk-ps-0123456789abcdef" + "x" * 43).get("/v1/models")).status_code == 401
        bad = (await admin.post("/v1/keys", json={"principal": ""}))
        assert bad.status_code == 400
        system = await admin.post("/v1/keys", json={"principal": "polystack:system"})
        assert system.status_code == 400 and system.json()["error"]["param"] == "principal"
        assert (await admin.get("/v1/keys/key_nope")).status_code == 404


async def test_a_key_lists_and_retrieves_only_its_allowed_models(tmp_path: Path) -> None:
    async with serving(run_config(tmp_path)) as client:
        admin = client(ADMIN)
        everything = [m["id"] for m in (await admin.get("/v1/models")).json()["data"]]
        key = (await admin.post("/v1/keys", json={"principal": "bot",
                                                  "allowed_models": ["scripted/scripted-model"]})).json()
        bot = client(key["value"])
        assert [m["id"] for m in (await bot.get("/v1/models")).json()["data"]] == ["scripted/scripted-model"]
        assert (await bot.get("/v1/models/scripted/scripted-model")).status_code == 200
        assert (await bot.get("/v1/models/scripted-model")).status_code == 200  # its short name too
        for hidden in ("/v1/models/scripted/scripted-embedding", "/v1/models/scripted-embedding"):
            assert (await bot.get(hidden)).status_code == 404
        assert len(everything) > 1 and [m["id"] for m in (await client(ALICE).get("/v1/models")).json()["data"]] \
            == everything  # a config key (no virtual key) still sees every model


class Guard(HookBase):
    """A guardrail-like hook first in the chain: it calls another model (embeddings) before each chat call."""

    def __init__(self, router: Any) -> None:
        self.router = router
        self.checked = 0

    async def before(self, call: InferenceCall) -> None:
        if call.kind == "chat_completion":
            await self.router.embeddings(EmbeddingsRequest.model_validate(EMBED))
            self.checked += 1


async def test_a_guard_hook_s_own_calls_pass_a_key_s_model_list_and_count_to_its_usage(tmp_path: Path) -> None:
    async with serving(run_config(tmp_path)) as client:
        router = client.stack.impls["inference"]
        guard = Guard(router)
        router.hooks._hooks.insert(0, guard)
        admin = client(ADMIN)
        key = (await admin.post("/v1/keys", json={"principal": "bot",
                                                  "allowed_models": ["scripted/scripted-model"]})).json()
        bot = client(key["value"])
        answered = await bot.post("/v1/chat/completions", json=chat())
        assert answered.status_code == 200, answered.text
        assert guard.checked == 1
        assert (await bot.post("/v1/embeddings", json=EMBED)).status_code == 404  # the key's own call is refused
        usage = (await admin.get(f"/v1/keys/{key['id']}/usage")).json()
        assert {m["model"]: m["requests"] for m in usage["models"]} == {"scripted/scripted-model": 1,
                                                                         "scripted/scripted-embedding": 1}
