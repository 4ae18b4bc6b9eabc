"""Contextualizer: the prompt split at {{CHUNK_CONTENT}}, failures that keep a chunk alone, and limits.

The chat model is the scripted provider in echo mode: it answers with the user message, which is the
prompt from {{CHUNK_CONTENT}} on (the chunk itself here), so each context shows what the model was sent.
"""

from __future__ import annotations

import pytest

from polystack.apis.errors import ProviderError
from polystack.apis.vector_io.types import ContextualChunking
from polystack.core.vector_stores.contextual import ContextualDefaults, ContextualError, Contextualizer
from polystack.providers.inline.inference.scripted.config import ScriptedConfig
from polystack.providers.inline.inference.scripted.provider import ScriptedInference

PROMPT = "Document: {{WHOLE_DOCUMENT}}\nSituate: {{CHUNK_CONTENT}}"


class Flaky:
    """The echoing scripted model, failing for chunks that contain 'FAIL'; it records the system messages."""

    def __init__(self) -> None:
        self.model = ScriptedInference(ScriptedConfig())
        self.systems: list[str] = []

    async def chat_completion(self, request):
        self.systems.append(request.messages[0].content)
        if "FAIL" in request.messages[-1].content:
            raise ProviderError("scripted", "overloaded")
        return await self.model.chat_completion(request)


def settings(**overrides) -> ContextualChunking:
    return ContextualChunking(model_id="scripted/scripted-model", context_prompt=PROMPT, **overrides)


async def test_each_chunk_gets_the_context_the_model_wrote_for_it():
    model = Flaky()
    situated = await Contextualizer(model, ContextualDefaults()).situate(settings(), "one two", ["one", "two"])
    assert situated == ["one\n\none", "two\n\ntwo"]
    assert model.systems == ["Document: one two\nSituate:"] * 2  # the same prefix for every chunk, cacheable


async def test_a_chunk_whose_call_fails_keeps_its_text_alone():
    situated = await Contextualizer(Flaky(), ContextualDefaults()).situate(settings(), "doc", ["ok", "FAIL"])
    assert situated == ["ok\n\nok", "FAIL"]


async def test_when_every_call_fails_the_file_fails():
    with pytest.raises(ContextualError, match="could not situate any chunk"):
        await Contextualizer(Flaky(), ContextualDefaults()).situate(settings(), "doc", ["FAIL 1", "FAIL 2"])


async def test_a_document_too_long_to_send_fails_with_the_setting_to_change():
    contextualizer = Contextualizer(Flaky(), ContextualDefaults(max_document_tokens=10))
    with pytest.raises(ContextualError, match="max_document_tokens"):
        await contextualizer.situate(settings(), "x" * 100, ["x"])


async def test_without_a_model_anywhere_it_says_where_to_name_one():
    contextualizer = Contextualizer(Flaky(), ContextualDefaults())
    with pytest.raises(ContextualError, match="contextual_retrieval_params.model"):
        await contextualizer.situate(ContextualChunking(context_prompt=PROMPT), "doc", ["x"])


def test_a_document_is_read_no_further_than_the_longest_allowed():
    contextualizer = Contextualizer(Flaky(), ContextualDefaults(max_document_tokens=10))
    assert contextualizer.read_document(["a" * 20, "b" * 20]) == "a" * 20 + "b" * 20

    def endless():
        while True:
            yield "x" * 16

    with pytest.raises(ContextualError, match="over 10 tokens"):
        contextualizer.read_document(endless())
