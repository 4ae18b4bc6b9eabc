"""inline::rag-runtime in-process over the real files, vector stores (sqlite-vec) and embeddings (onnx
all-MiniLM-L6-v2): rag-tool/insert by text, data URL, uploaded file and http URL; rag-tool/query with every
query config knob; knowledge_search through /v1/tool-runtime/invoke."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import polystack
from polystack.core.config import parse_run_config
from polystack.providers.utils.documents.tokens import count_tokens

LLAMAS = "Llamas eat grass and hay. An adult llama eats about two percent of its body weight in hay every day."
TELESCOPE = "The observatory telescope mirror is polished with cerium oxide every decade by the night staff."
VOLCANO = "# Volcanoes\n\nBasalt lava from shield volcanoes flows far because it is runny and hot."
BREAD = "Sourdough bread rises with a starter of wild yeast, fed with flour and water each morning."


class _Pages(BaseHTTPRequestHandler):
    pages: dict[str, tuple[int, str, bytes]] = {}

    def do_GET(self) -> None:
        status, mime, body = self.pages.get(self.path, (404, "text/plain", b"no such page"))
        self.send_response(status)
        if status in (301, 302):
            self.send_header("Location", body.decode())
        self.send_header("Content-Type", mime)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    """A local HTTP server with a text page, a page larger than the provider's limit and a 404."""
    _Pages.pages = {"/bread.txt": (200, "text/plain; charset=utf-8", BREAD.encode()),
                    "/huge.txt": (200, "text/plain", b"x" * 300_000), "/to-bread": (302, "text/plain", b"/bread.txt")}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(5)


def config(tmp_path: Any, private_addresses: bool = True) -> Any:
    sql = {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")}
    return parse_run_config({
        "distro_name": "rag",
        "apis": ["inference", "files", "vector_io", "tool_runtime"],
        "providers": {
            "inference": [{"provider_id": "onnx", "provider_type": "inline::onnx"},
                          {"provider_id": "scripted", "provider_type": "inline::scripted", "config": {
                              "models": ["query-writer"], "replies": [{"content": "cerium oxide telescope mirror"}]}}],
            "files": [{"provider_id": "localfs", "provider_type": "inline::localfs",
                       "config": {"storage_dir": str(tmp_path / "files"), "metadata_store": {"backend": "sql"}}}],
            "vector_io": [{"provider_id": "sqlite-vec", "provider_type": "inline::sqlite-vec",
                           "config": {"db_path": str(tmp_path / "vec.db")}}],
            "tool_runtime": [{"provider_id": "rag-runtime", "provider_type": "inline::rag-runtime",
                              "config": {"max_document_bytes": 200_000, "fetch_timeout_seconds": 5,
                                         "fetch_private_addresses": private_addresses}}],
        },
        "storage": {"backends": {"sql": sql, "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
                    "stores": {"metadata": {"backend": "kv"}, "vector_stores": {"backend": "sql"}}},
        "vector_stores": {"default_embedding_model": "onnx/all-MiniLM-L6-v2"},
        "registered_resources": {"tool_groups": [{"toolgroup_id": "builtin::rag", "provider_id": "rag-runtime"}]},
        "models": {"refresh_interval_seconds": 0},
    }, env={})


@pytest.fixture(scope="module")
async def filled(tmp_path_factory, web):  # type: ignore[no-untyped-def]
    """A stack and a store holding four documents, one inserted each way."""
    async with polystack.connect(config(tmp_path_factory.mktemp("rag"))) as stack:
        store = await stack.openai.vector_stores.create(name="knowledge")
        uploaded = await stack.openai.files.create(file=("telescope.txt", TELESCOPE.encode()), purpose="assistants")
        data_url = "data:text/markdown;base64," + base64.b64encode(VOLCANO.encode()).decode()
        reply = await stack.http.post("/v1/tool-runtime/rag-tool/insert", json={
            "vector_store_id": store.id, "chunk_size_in_tokens": 256, "documents": [
                {"document_id": "llamas", "content": LLAMAS, "mime_type": "text/plain",
                 "metadata": {"author": "Ana", "year": 2021, "tags": ["animals"]}},
                {"document_id": "volcano", "content": {"uri": data_url}, "metadata": {}},
                {"document_id": "telescope", "content": {"uri": uploaded.id}, "metadata": {"author": "Olu"}},
                {"document_id": "bread", "content": {"uri": f"{web}/bread.txt"}, "metadata": {}},
            ]})
        assert reply.status_code == 204, reply.text
        yield stack, store.id, uploaded.id


async def query(stack: Any, store_id: str, content: Any, **query_config: Any) -> Any:
    reply = await stack.http.post("/v1/tool-runtime/rag-tool/query", json={
        "content": content, "vector_store_ids": [store_id], "query_config": query_config})
    assert reply.status_code == 200, reply.text
    return reply.json()


async def test_inserted_documents_are_real_vector_store_files(filled):  # type: ignore[no-untyped-def]
    stack, store_id, uploaded_id = filled
    files = (await stack.openai.vector_stores.files.list(store_id)).data
    assert {f.status for f in files} == {"completed"} and len(files) == 4
    by_document = {f.attributes["document_id"]: f for f in files}
    assert set(by_document) == {"llamas", "volcano", "telescope", "bread"}
    assert by_document["telescope"].id == uploaded_id  # an uploaded file is attached, not copied
    assert by_document["llamas"].attributes == {"document_id": "llamas", "author": "Ana", "year": 2021,
                                                "tags": '["animals"]'}
    assert by_document["llamas"].chunking_strategy.static.max_chunk_size_tokens == 256
    assert by_document["llamas"].chunking_strategy.static.chunk_overlap_tokens == 64
    names = {f.filename for f in (await stack.openai.files.list()).data}
    assert {"llamas.txt", "volcano.md", "bread.txt"} <= names


@pytest.mark.parametrize("mode", ["vector", "keyword", "hybrid"])
@pytest.mark.parametrize(("question", "document"), [
    ("how often is the telescope mirror polished", "telescope"), ("what do llamas eat, hay", "llamas"),
    ("basalt lava shield volcanoes", "volcano"), ("sourdough starter wild yeast", "bread")])
async def test_each_insert_path_is_found_in_each_mode(filled, mode, question, document):  # type: ignore[no-untyped-def]
    stack, store_id, _ = filled
    result = await query(stack, store_id, question, mode=mode, max_chunks=4)
    assert result["metadata"]["document_ids"][0] == document


async def test_rankers_and_vector_db_ids_alias(filled):  # type: ignore[no-untyped-def]
    stack, store_id, _ = filled
    for ranker in ({"type": "rrf", "impact_factor": 10}, {"type": "weighted", "alpha": 0.0},
                   {"type": "weighted", "alpha": 1.0}):
        result = await query(stack, store_id, "cerium oxide telescope mirror", mode="hybrid", ranker=ranker)
        assert result["metadata"]["document_ids"][0] == "telescope"
    # alpha 0 is keyword-only fusion: documents sharing no word with the query score 0
    keyword_only = await query(stack, store_id, "cerium", mode="hybrid", max_chunks=4,
                               ranker={"type": "weighted", "alpha": 0.0})
    assert keyword_only["metadata"]["scores"][0] > 0 and keyword_only["metadata"]["scores"][-1] == 0
    reply = await stack.http.post("/v1/tool-runtime/rag-tool/query", json={
        "content": "cerium", "vector_db_ids": [store_id], "query_config": {"mode": "keyword"}})
    assert reply.json()["metadata"]["document_ids"] == ["telescope"]


async def test_max_chunks_budget_template_and_metadata(filled):  # type: ignore[no-untyped-def]
    stack, store_id, _ = filled
    two = await query(stack, store_id, "llamas hay", max_chunks=2)
    assert len(two["metadata"]["chunks"]) == 2 and len(two["content"]) == 2 + 3  # header, 2 chunks, end, note
    template = "[{index}] {chunk.content} | by {chunk.metadata}"
    result = await query(stack, store_id, "what do llamas eat", max_chunks=1, chunk_template=template)
    first = result["metadata"]["chunk_metadata"][0]
    assert first["attributes"]["author"] == "Ana" and first["document_id"] == "llamas"
    assert first["filename"] == "llamas.txt" and first["vector_store_id"] == store_id
    assert result["content"][1]["text"] == template.format(index=1, chunk=type("C", (), {
        "content": LLAMAS, "metadata": {"document_id": "llamas", "author": "Ana", "year": 2021,
                                        "tags": '["animals"]'}}))
    assert result["metadata"]["chunks"] == [LLAMAS]
    # a budget that holds one chunk of the default template but not two
    one_chunk = count_tokens(two["content"][1]["text"])
    budget = await query(stack, store_id, "llamas hay", max_chunks=4, max_tokens_in_context=one_chunk + 5)
    assert len(budget["metadata"]["chunks"]) == 1 and budget["metadata"]["token_count"] <= one_chunk + 5
    nothing = await query(stack, store_id, "llamas hay", max_tokens_in_context=1)
    assert nothing["metadata"]["chunks"] == [] and "found 0 chunks" in nothing["content"][0]["text"]


async def test_an_llm_query_generator_writes_the_query(filled):  # type: ignore[no-untyped-def]
    stack, store_id, _ = filled
    # the scripted model always answers "cerium oxide telescope mirror", whatever the content asks
    result = await query(stack, store_id, "sourdough bread", mode="keyword", max_chunks=1, query_generator_config={
        "type": "llm", "model": "scripted/query-writer", "template": "Query for: {{ messages }}"})
    assert result["metadata"]["document_ids"] == ["telescope"]
    assert "cerium oxide telescope mirror" in result["content"][-1]["text"]
    reply = await stack.http.post("/v1/tool-runtime/rag-tool/query", json={
        "content": "x", "vector_store_ids": [store_id], "query_config": {"query_generator_config": {
            "type": "llm", "model": "scripted/query-writer", "template": "no placeholder"}}})
    assert reply.status_code == 400
    assert reply.json()["error"]["param"] == "query_config.query_generator_config.llm.template"


async def test_knowledge_search_through_invoke_uses_the_groups_args(filled):  # type: ignore[no-untyped-def]
    stack, store_id, _ = filled
    tools = (await stack.http.get("/v1/tools", params={"toolgroup_id": "builtin::rag"})).json()["data"]
    assert [t["name"] for t in tools] == ["knowledge_search"]
    registered = await stack.http.post("/v1/toolgroups", json={
        "toolgroup_id": "my-docs", "provider_id": "rag-runtime",
        "args": {"vector_store_ids": [store_id], "query_config": {"max_chunks": 1, "mode": "keyword"}}})
    assert registered.status_code == 200, registered.text
    reply = await stack.http.post("/v1/tool-runtime/invoke", json={
        "tool_name": "my-docs/knowledge_search", "kwargs": {"query": "telescope mirror cerium"}})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["error_message"] is None and body["metadata"]["document_ids"] == ["telescope"]
    assert any("cerium oxide" in item["text"] for item in body["content"])
    # builtin::rag has no stores in its args: the kwargs name them, or it is a 400 naming the field
    reply = await stack.http.post("/v1/tool-runtime/invoke", json={
        "tool_name": "builtin::rag/knowledge_search", "kwargs": {"query": "bread", "vector_db_ids": [store_id]}})
    assert reply.json()["metadata"]["document_ids"][0] == "bread"
    reply = await stack.http.post("/v1/tool-runtime/invoke", json={
        "tool_name": "builtin::rag/knowledge_search", "kwargs": {"query": "bread"}})
    assert reply.status_code == 400 and reply.json()["error"]["param"] == "kwargs.vector_store_ids"


async def test_bad_input_is_a_4xx_naming_the_field(filled, web):  # type: ignore[no-untyped-def]
    stack, store_id, _ = filled

    async def insert(document: dict[str, Any], store: str = store_id) -> Any:
        return await stack.http.post("/v1/tool-runtime/rag-tool/insert", json={
            "vector_store_id": store, "documents": [{"document_id": "d", "metadata": {}, **document}]})

    cases = [
        (await insert({"content": {"uri": f"{web}/missing.txt"}}), 400, "documents[0].content"),
        (await insert({"content": {"uri": f"{web}/huge.txt"}}), 413, "documents[0].content"),
        (await insert({"content": {"uri": "data:text/plain;base64,@@@"}}), 400, "documents[0].content"),
        (await insert({"content": {"uri": "ftp://example.com/x"}}), 400, "documents[0].content"),
        (await insert({"content": {"uri": "file-doesnotexist"}}), 404, "file_id"),
        (await insert({"content": "hello"}, store="vs_missing"), 404, "vector_store_id"),
        (await stack.http.post("/v1/tool-runtime/rag-tool/query", json={
            "content": "x", "vector_store_ids": [store_id], "query_config": {"chunk_template": "{chunk.__class__}"}}),
         400, "query_config.chunk_template"),
        (await stack.http.post("/v1/tool-runtime/rag-tool/query", json={
            "content": "x", "vector_store_ids": [store_id], "query_config": {"mode": "fuzzy"}}),
         400, "query_config.mode"),
        (await stack.http.post("/v1/tool-runtime/rag-tool/query", json={"content": "x", "vector_store_ids": []}),
         400, "vector_store_ids"),
    ]
    for response, status, param in cases:
        assert response.status_code == status, response.text
        assert response.json()["error"]["param"] == param, response.text


async def test_private_addresses_are_not_fetched_by_default(tmp_path, web):  # type: ignore[no-untyped-def]
    async with polystack.connect(config(tmp_path, private_addresses=False)) as stack:
        store = await stack.openai.vector_stores.create(name="guarded")
        for uri in (f"{web}/bread.txt", "http://169.254.169.254/latest/meta-data/", "http://[::1]:9/x"):
            reply = await stack.http.post("/v1/tool-runtime/rag-tool/insert", json={
                "vector_store_id": store.id, "documents": [{"document_id": "d", "content": {"uri": uri}}]})
            assert reply.status_code == 400 and "private or local address" in reply.json()["error"]["message"]
            assert reply.json()["error"]["param"] == "documents[0].content"


async def test_a_fetch_follows_redirects(filled, web):  # type: ignore[no-untyped-def]
    stack, _, _ = filled
    store = await stack.openai.vector_stores.create(name="redirected")
    reply = await stack.http.post("/v1/tool-runtime/rag-tool/insert", json={
        "vector_store_id": store.id, "documents": [{"document_id": "moved", "content": {"uri": f"{web}/to-bread"}}]})
    assert reply.status_code == 204, reply.text
    result = await query(stack, store.id, "sourdough", mode="keyword")
    assert result["metadata"]["chunks"] == [BREAD]
