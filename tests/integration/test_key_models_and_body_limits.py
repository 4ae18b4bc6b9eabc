"""A real `polystack run` with auth, virtual keys and body limits per route family.

- a virtual key with `allowed_models` lists only those models (/v1/models and /v1/openai/v1/models), and any
  other model is a 404 to it, by identifier and by short name;
- `server.limits.body_limits` gives /v1/embeddings its own limit: a larger body is a 413 naming it, refused
  on its Content-Length before a byte of it is sent, while a chat completion of that size passes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

ADMIN = "admin-key-models-7d21"
CHAT_MODEL, EMBED_MODEL = "scripted/scripted-model", "scripted/scripted-embedding"
EMBED_LIMIT = 4096


@pytest.fixture(scope="module")
def server(server_factory, tmp_path_factory) -> Any:  # type: ignore[no-untyped-def]
    folder: Path = tmp_path_factory.mktemp("key-models")
    config = {
        "distro_name": "key-models",
        "apis": ["inference"],
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}]},
        "storage": {"store_dir": str(folder / "store")},
        "models": {"refresh_interval_seconds": 0},
        "server": {
            "auth": {"provider_config": {"type": "api_keys", "keys": [
                {"key": ADMIN, "principal": "root", "attributes": {"roles": ["admin"]}}]}},
            "limits": {"body_limits": {"/v1/embeddings": "4KiB"}},
        },
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return server_factory(str(path))


def as_admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN}"}


def test_a_virtual_key_sees_only_its_allowed_models(server) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=server.base_url, timeout=60) as http:
        everything = {m["id"] for m in http.get("/v1/models", headers=as_admin()).json()["data"]}
        assert {CHAT_MODEL, EMBED_MODEL} <= everything
        made = http.post("/v1/keys", json={"principal": "bot", "allowed_models": [CHAT_MODEL]}, headers=as_admin())
        assert made.status_code == 200, made.text
        bot = {"Authorization": f"Bearer {made.json()['value']}"}
        for listing in ("/v1/models", "/v1/openai/v1/models"):
            listed = http.get(listing, headers=bot)
            assert listed.status_code == 200 and [m["id"] for m in listed.json()["data"]] == [CHAT_MODEL], listing
        assert http.get(f"/v1/models/{CHAT_MODEL}", headers=bot).json()["id"] == CHAT_MODEL
        for hidden in (f"/v1/models/{EMBED_MODEL}", "/v1/models/scripted-embedding",
                       f"/v1/openai/v1/models/{EMBED_MODEL}"):
            refused = http.get(hidden, headers=bot)
            assert refused.status_code == 404, hidden
            assert refused.json()["error"]["code"] == "model_not_found"
        short = http.get("/v1/models/scripted-embedding", headers=bot).text
        assert EMBED_MODEL not in short  # a short name's 404 names no candidate the key may not use
        unrestricted = http.post("/v1/keys", json={"principal": "any"}, headers=as_admin()).json()
        listed = http.get("/v1/models", headers={"Authorization": f"Bearer {unrestricted['value']}"}).json()
        assert {m["id"] for m in listed["data"]} == everything


def test_a_route_family_s_body_limit_is_a_413_naming_it(server) -> None:  # type: ignore[no-untyped-def]
    big = "x" * (2 * EMBED_LIMIT)
    with httpx.Client(base_url=server.base_url, timeout=60, headers=as_admin()) as http:
        for path in ("/v1/embeddings", "/v1/openai/v1/embeddings"):
            refused = http.post(path, json={"model": EMBED_MODEL, "input": big})
            assert refused.status_code == 413, path
            error = refused.json()["error"]
            assert error["code"] == "payload_too_large"
            assert f"{EMBED_LIMIT} bytes for /v1/embeddings" in error["message"]
        assert http.post("/v1/embeddings", json={"model": EMBED_MODEL, "input": "small"}).status_code == 200
        chat = http.post("/v1/chat/completions", json={"model": CHAT_MODEL,
                                                       "messages": [{"role": "user", "content": big}]})
        assert chat.status_code == 200, chat.text  # the default 16 MiB still applies elsewhere


async def test_the_413_comes_on_the_declared_length_before_the_body_is_sent(server) -> None:  # type: ignore[no-untyped-def]
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(f"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {10 * EMBED_LIMIT}\r\n\r\n".encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 30)  # no body byte was ever sent
        assert status_line.split()[1] == b"413", status_line
    finally:
        writer.close()
