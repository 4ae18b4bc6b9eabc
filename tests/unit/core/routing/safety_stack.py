"""A stack for the safety tests: scripted chat (echo) and guard models, llama-guard and the fake vendors."""

from __future__ import annotations

from typing import Any

from polystack.core.config import RunConfig, parse_run_config
from polystack.testing.fake_safety_apis import FakeSafetyAPIs

CHAT = "scripted/chat"
GUARD = "guard/guard-model"


def safety_config(tmp_path: Any, fake: FakeSafetyAPIs, *, guard_replies: tuple[str, ...] = ("safe",),
                  safety: dict[str, Any] | None = None, auth: dict[str, Any] | None = None,
                  chat_delay: float = 0) -> RunConfig:
    return parse_run_config({
        "distro_name": "safety",
        "providers": {
            "inference": [
                {"provider_id": "scripted", "provider_type": "inline::scripted",
                 "config": {"models": ["chat"], "stream_delay_seconds": chat_delay}},  # echoes the last user message
                {"provider_id": "guard", "provider_type": "inline::scripted",
                 "config": {"models": ["guard-model"], "replies": [{"content": r} for r in guard_replies]}},
            ],
            "safety": [
                {"provider_id": "llama-guard", "provider_type": "inline::llama-guard"},
                {"provider_id": "openai-moderation", "provider_type": "remote::openai-moderation",
                 "config": {"base_url": f"{fake.base_url}/v1", "api_key": fake.openai_key}},
                {"provider_id": "bedrock", "provider_type": "remote::bedrock-guardrails",
                 "config": {"endpoint_url": fake.base_url, "region": fake.region,
                            "aws_access_key_id": fake.aws_access_key, "aws_secret_access_key": fake.aws_secret_key}},
                {"provider_id": "nemo", "provider_type": "remote::nvidia-nemo-guardrails",
                 "config": {"guardrails_service_url": fake.base_url}},
            ],
        },
        "storage": {
            "backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                         "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
            "stores": {"metadata": {"backend": "kv"}, "inference": {"backend": "sql"}},
        },
        "registered_resources": {"shields": [
            {"shield_id": "llama-guard", "provider_id": "llama-guard", "provider_shield_id": GUARD},
            {"shield_id": "moderation", "provider_id": "openai-moderation",
             "provider_shield_id": "omni-moderation-latest"},
            {"shield_id": "bedrock", "provider_id": "bedrock", "provider_shield_id": "gr-fake1",
             "params": {"guardrail_version": "1"}},
            {"shield_id": "nemo", "provider_id": "nemo", "provider_shield_id": "meta/llama-3.1-8b-instruct"},
        ]},
        "models": {"refresh_interval_seconds": 0},
        "safety": safety or {},
        **({"server": {"auth": auth}} if auth else {}),
    }, env={})
