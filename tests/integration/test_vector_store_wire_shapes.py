"""Wire shapes of vector stores, files and Llama Stack's vector-io, checked through the openai client and raw HTTP.

Same in-process stack as test_vector_stores.py: the embedded all-MiniLM-L6-v2, localfs and sqlite-vec.
"""

from __future__ import annotations

import asyncio

import openai
import pytest

import polystack
from tests.integration.test_vector_stores import MARKDOWN, config, wait_completed


@pytest.fixture
async def library(tmp_path):
    async with polystack.connect(config(tmp_path)) as stack:
        yield stack


async def test_search_query_is_a_list_of_strings(library):
    store = await library.openai.vector_stores.create(name="shape")
    hits = await library.openai.vector_stores.search(store.id, query="llamas")
    assert hits.search_query == ["llamas"]
    raw = (await library.http.post(f"/v1/vector_stores/{store.id}/search", json={"query": ["a", "b"]})).json()
    assert raw["search_query"] == ["a", "b"]


async def test_updating_a_store_moves_last_active_at(library):
    store = await library.openai.vector_stores.create(name="old", expires_after={"anchor": "last_active_at",
                                                                                  "days": 1})
    await asyncio.sleep(1.1)
    updated = await library.openai.vector_stores.update(store.id, name="new")
    assert updated.last_active_at > store.last_active_at
    assert updated.expires_at == updated.last_active_at + 86400


async def test_attach_and_batch_accept_llama_stacks_embedding_model_key(library):
    client = library.openai
    store = await client.vector_stores.create(name="ls", extra_body={"embedding_model": "onnx/all-MiniLM-L6-v2"})
    first = await client.files.create(file=("a.md", MARKDOWN), purpose="assistants")
    second = await client.files.create(file=("b.md", MARKDOWN), purpose="assistants")
    extra = {"embedding_model": "onnx/all-MiniLM-L6-v2", "embedding_dimension": 384, "provider_id": "sqlite-vec"}
    attached = await client.vector_stores.files.create(vector_store_id=store.id, file_id=first.id, extra_body=extra)
    assert attached.id == first.id
    batch = await client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=[second.id],
                                                           extra_body=extra)
    assert batch.vector_store_id == store.id
    await wait_completed(client, store.id)
    with pytest.raises(openai.BadRequestError) as wrong:
        await client.vector_stores.files.create(vector_store_id=store.id, file_id=first.id,
                                                extra_body={"embedding_model": "onnx/another-model"})
    assert wrong.value.body["param"] == "embedding_model"


async def test_store_reports_its_provider_id_in_metadata(library):
    store = await library.openai.vector_stores.create(name="p", metadata={"team": "a"},
                                                      extra_body={"provider_id": "sqlite-vec"})
    assert store.metadata == {"team": "a", "provider_id": "sqlite-vec"}
    updated = await library.openai.vector_stores.update(store.id, metadata={"team": "b"})
    assert updated.metadata == {"team": "b", "provider_id": "sqlite-vec"}


async def test_empty_lists_give_string_cursors(library):
    for path in ("/v1/vector_stores", "/v1/files"):
        body = (await library.http.get(path)).json()
        assert body["data"] == [] and isinstance(body["first_id"], str) and isinstance(body["last_id"], str)
    store = await library.openai.vector_stores.create(name="empty")
    body = (await library.http.get(f"/v1/vector_stores/{store.id}/files")).json()
    assert isinstance(body["first_id"], str) and isinstance(body["last_id"], str)


async def insert_two(library) -> str:
    store = await library.openai.vector_stores.create(name="raw")
    response = await library.http.post("/v1/vector-io/insert", json={"vector_store_id": store.id, "chunks": [
        {"content": "Penguins live in the southern hemisphere.", "metadata": {"document_id": "doc-1", "kind": "bird"}},
        {"content": "Penguins are sold as toys in the northern shops.",
         "metadata": {"document_id": "doc-2", "kind": "toy"}}]})
    assert response.status_code == 204, response.text
    return store.id


async def test_vector_io_query_applies_filters_and_accepts_null_params(library):
    store_id = await insert_two(library)
    filtered = (await library.http.post("/v1/vector-io/query", json={
        "vector_store_id": store_id, "query": "penguins",
        "params": {"filters": {"type": "eq", "key": "kind", "value": "toy"}}})).json()
    assert [c["metadata"]["document_id"] for c in filtered["chunks"]] == ["doc-2"]
    unparametrised = await library.http.post("/v1/vector-io/query", json={
        "vector_store_id": store_id, "query": "penguins", "params": None})
    assert unparametrised.status_code == 200 and len(unparametrised.json()["chunks"]) == 2


async def test_vector_io_query_chunks_carry_llama_stack_fields(library):
    store_id = await insert_two(library)
    result = (await library.http.post("/v1/vector-io/query", json={
        "vector_store_id": store_id, "query": "where do penguins live", "params": {"max_chunks": 1}})).json()
    (chunk,) = result["chunks"]
    assert chunk["embedding_model"] == "onnx/all-MiniLM-L6-v2" and chunk["embedding_dimension"] == 384
    assert chunk["chunk_metadata"]["document_id"] == "doc-1"
    assert chunk["chunk_metadata"]["chunk_id"] == chunk["chunk_id"]
    assert chunk["chunk_metadata"]["chunk_embedding_model"] == "onnx/all-MiniLM-L6-v2"
    hits = await library.openai.vector_stores.search(store_id, query="penguins")
    assert all(isinstance(h.filename, str) and isinstance(h.file_id, str) for h in hits.data)


@pytest.mark.parametrize(("path", "body", "param"), [
    ("/v1/vector-io/query", {"query": "x", "params": {"max_chunks": "many"}}, "params.max_chunks"),
    ("/v1/vector-io/query", {"query": "x", "params": {"mode": "psychic"}}, "params.mode"),
    ("/v1/vector-io/query", {"query": "x", "params": {"score_threshold": [1]}}, "params.score_threshold"),
    ("/v1/vector-io/query", {"query": "x", "params": {"filters": {"type": "between"}}}, "params.filters"),
    ("/v1/vector-io/query", {"query": "x", "params": "all"}, "params"),
    ("/v1/vector-io/insert", {"chunks": [{"content": "x", "metadata": {"document_id": 7}}]},
     "chunks[0].metadata.document_id"),
])
async def test_vector_io_bad_input_is_a_400_naming_the_field(library, path, body, param):
    store = await library.openai.vector_stores.create(name="bad")
    response = await library.http.post(path, json={"vector_store_id": store.id, **body})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] is not None and error["param"].startswith(param), error


async def test_store_choices_can_come_in_the_metadata_as_llama_stack_allows(library):
    store = await library.openai.vector_stores.create(name="m", metadata={
        "provider_id": "sqlite-vec", "embedding_model": "onnx/all-MiniLM-L6-v2", "embedding_dimension": "384"})
    assert store.metadata["provider_id"] == "sqlite-vec"
    with pytest.raises(openai.BadRequestError) as wrong:
        await library.openai.vector_stores.create(name="m", metadata={"embedding_dimension": "many"})
    assert wrong.value.body["param"] == "metadata.embedding_dimension"
    with pytest.raises(openai.BadRequestError) as unknown:
        await library.openai.vector_stores.create(name="m", metadata={"provider_id": "nowhere"})
    assert unknown.value.body["param"] == "provider_id"
