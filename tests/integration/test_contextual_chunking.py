"""chunking_strategy {type: contextual}: a chat model (here the scripted one, so the context is exact)
situates each chunk, and the chunk is indexed with its context first."""

from __future__ import annotations

import openai
import pytest

import polystack
from polystack.core.config import parse_run_config
from tests.integration.test_vector_stores import MARKDOWN, config, wait_completed

CONTEXT = "This passage comes from the llama care handbook."
CONTEXTUAL = {"type": "contextual", "contextual": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 20}}


def contextual_config(tmp_path, *, default_model: bool):
    data = config(tmp_path).model_dump(mode="json")
    data["providers"]["inference"].append({"provider_id": "situator", "provider_type": "inline::scripted",
                                           "config": {"replies": [{"content": f"  {CONTEXT}\n"}]}})
    if default_model:
        data["vector_stores"]["contextual_retrieval_params"] = {"model": "situator/scripted-model"}
    return parse_run_config(data, env={})


async def test_each_chunk_is_indexed_with_the_context_the_model_wrote(tmp_path):
    async with polystack.connect(contextual_config(tmp_path, default_model=True)) as stack:
        client = stack.openai
        uploaded = await client.files.create(file=("llamas.md", MARKDOWN), purpose="assistants")
        store = await client.vector_stores.create(name="contextual", file_ids=[uploaded.id],
                                                  chunking_strategy=CONTEXTUAL)
        await wait_completed(client, store.id)
        attached = (await stack.http.get(f"/v1/vector_stores/{store.id}/files/{uploaded.id}")).json()
        assert attached["status"] == "completed", attached
        assert attached["chunking_strategy"]["type"] == "contextual"
        assert attached["chunking_strategy"]["contextual"]["model_id"] == "situator/scripted-model"
        content = (await stack.http.get(f"/v1/vector_stores/{store.id}/files/{uploaded.id}/content")).json()
        assert content["data"] and all(part["text"].startswith(f"{CONTEXT}\n\n") for part in content["data"])
        hits = await client.vector_stores.search(store.id, query="how much hay does a llama eat",
                                                 extra_body={"search_mode": "keyword"})
        assert hits.data[0].content[0].text.startswith(f"{CONTEXT}\n\n# Llama care handbook")


async def test_contextual_without_a_model_is_a_400_naming_it(tmp_path):
    async with polystack.connect(contextual_config(tmp_path, default_model=False)) as stack:
        client = stack.openai
        uploaded = await client.files.create(file=("llamas.md", MARKDOWN), purpose="assistants")
        store = await client.vector_stores.create(name="no-model")
        with pytest.raises(openai.BadRequestError, match="contextual_retrieval_params.model") as missing:
            await client.vector_stores.files.create(vector_store_id=store.id, file_id=uploaded.id,
                                                    chunking_strategy=CONTEXTUAL)
        assert missing.value.body["param"] == "chunking_strategy.contextual.model_id"
        with pytest.raises(openai.BadRequestError) as embedding:
            await client.vector_stores.create(file_ids=[uploaded.id], chunking_strategy={
                "type": "contextual", "contextual": {"model_id": "onnx/all-MiniLM-L6-v2"}})
        assert embedding.value.body["param"] == "chunking_strategy.contextual.model_id"
        assert [s.id for s in (await client.vector_stores.list()).data] == [store.id]  # nothing half-made
        named = {"type": "contextual",
                 "contextual": {**CONTEXTUAL["contextual"], "model_id": "situator/scripted-model"}}
        attached = await client.vector_stores.files.create(vector_store_id=store.id, file_id=uploaded.id,
                                                           chunking_strategy=named)
        assert attached.status == "in_progress"
        await wait_completed(client, store.id)


@pytest.mark.parametrize("contextual", [
    {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 100},
    {"context_prompt": "no placeholders"},
    {"context_prompt": "{{CHUNK_CONTENT}} in {{WHOLE_DOCUMENT}}"},
])
async def test_bad_contextual_settings_are_a_400(tmp_path, contextual):
    async with polystack.connect(contextual_config(tmp_path, default_model=True)) as stack:
        store = await stack.openai.vector_stores.create(name="bad")
        response = await stack.http.post(f"/v1/vector_stores/{store.id}/files", json={
            "file_id": "file-x", "chunking_strategy": {"type": "contextual", "contextual": contextual}})
        assert response.status_code == 400
        assert response.json()["error"]["param"].startswith("chunking_strategy"), response.json()
