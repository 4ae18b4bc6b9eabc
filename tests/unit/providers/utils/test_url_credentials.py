"""A base_url holding user:password, with or without an api_key, through the real HTTP client."""

from __future__ import annotations

import base64

import pytest

from polystack.apis.inference.types import ChatCompletionRequest
from polystack.providers.remote.inference.vllm.config import VllmConfig
from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter, split_credentials
from polystack.testing.fake_upstream import FakeUpstream, chat


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize("api_key, expected", [
    ("sk-key", "Bearer sk-key"),  # the key wins; the URL's credentials stay out of the request
    (None, basic("user", "p@ss word")),
])
async def test_a_base_url_with_credentials_reaches_the_upstream(api_key, expected) -> None:
    async with FakeUpstream() as upstream:
        url = upstream.base_url.replace("http://", "http://user:p%40ss%20word@")
        adapter = OpenAICompatAdapter(VllmConfig(base_url=url, api_key=api_key), api_key_field="vllm_api_key")
        try:
            reply = await adapter.chat_completion(ChatCompletionRequest(**chat("m")))
        finally:
            await adapter.shutdown()
    assert reply.choices[0].message.content == "ok"
    assert upstream.last_headers["authorization"] == expected


def test_split_credentials_keeps_the_rest_of_the_url() -> None:
    assert split_credentials("http://a:b@host:8000/v1") == ("http://host:8000/v1", basic("a", "b"))
    assert split_credentials("https://host/v1") == ("https://host/v1", None)
