"""Files and vector stores end to end with the official openai client: upload, ingest, search, restart.

Real parts throughout: the embedded all-MiniLM-L6-v2 (onnx) for embeddings, localfs for files and the
default sqlite-vec index, in-process through the same app the server runs.
"""

from __future__ import annotations

import asyncio
import io

import openai
import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

import polystack
from polystack.apis.datatypes import Api
from polystack.apis.errors import NotFoundError
from polystack.core.config import parse_run_config

MARKDOWN = b"""# Llama care handbook

## Feeding
Llamas eat grass and hay. An adult llama eats about two percent of its body weight in hay every day.

## Shearing
Llamas are sheared once a year, in spring, so that their wool does not overheat them in summer.
"""


def pdf_with_text(text: str) -> bytes:
    """A one-page PDF whose content stream draws `text` (built with pypdf, no fixture file)."""
    writer = PdfWriter()
    page = writer.add_blank_page(width=612, height=792)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})})
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode())
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


PDF = pdf_with_text("The observatory telescope mirror is polished with cerium oxide every decade.")


def config(tmp_path):
    sql = {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")}
    return parse_run_config({
        "distro_name": "vectors",
        "apis": ["inference", "files", "vector_io"],
        "providers": {
            "inference": [{"provider_id": "onnx", "provider_type": "inline::onnx"}],
            "files": [{"provider_id": "localfs", "provider_type": "inline::localfs",
                       "config": {"storage_dir": str(tmp_path / "files"), "metadata_store": {"backend": "sql"},
                                  "max_upload_bytes": 200_000}}],
            "vector_io": [{"provider_id": "sqlite-vec", "provider_type": "inline::sqlite-vec",
                           "config": {"db_path": str(tmp_path / "vec.db")}}],
        },
        "storage": {"backends": {"sql": sql, "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
                    "stores": {"metadata": {"backend": "kv"}, "vector_stores": {"backend": "sql"}}},
        "vector_stores": {"default_embedding_model": "onnx/all-MiniLM-L6-v2"},
        "models": {"refresh_interval_seconds": 0},
    }, env={})


async def wait_completed(client, store_id: str, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        store = await client.vector_stores.retrieve(store_id)
        if store.file_counts.in_progress == 0:
            return
        assert asyncio.get_running_loop().time() < deadline, "ingestion did not finish"
        await asyncio.sleep(0.1)


@pytest.fixture
async def library(tmp_path):
    async with polystack.connect(config(tmp_path)) as stack:
        yield stack


async def make_store(client) -> tuple[str, str, str]:
    md = await client.files.create(file=("llamas.md", MARKDOWN), purpose="assistants")
    pdf = await client.files.create(file=("observatory.pdf", PDF), purpose="assistants")
    store = await client.vector_stores.create(name="handbooks", file_ids=[md.id, pdf.id],
                                              chunking_strategy={"type": "static", "static": {
                                                  "max_chunk_size_tokens": 100, "chunk_overlap_tokens": 20}})
    await wait_completed(client, store.id)
    return store.id, md.id, pdf.id


@pytest.mark.parametrize("mode", ["vector", "keyword", "hybrid"])
async def test_search_finds_the_right_passage_in_each_mode(library, mode):
    client = library.openai
    store_id, md_id, pdf_id = await make_store(client)
    files = await client.vector_stores.files.list(store_id)
    assert {f.status for f in files.data} == {"completed"}
    hits = await client.vector_stores.search(store_id, query="how often is the telescope mirror polished",
                                             extra_body={"search_mode": mode})
    assert hits.data[0].file_id == pdf_id and "cerium" in hits.data[0].content[0].text
    hits = await client.vector_stores.search(store_id, query="llama hay feeding", extra_body={"search_mode": mode})
    assert hits.data[0].file_id == md_id and hits.data[0].filename == "llamas.md"


async def test_filters_narrow_results_by_attributes(library):
    client = library.openai
    store_id, md_id, pdf_id = await make_store(client)
    await client.vector_stores.files.update(file_id=pdf_id, vector_store_id=store_id, attributes={"topic": "space"})
    await client.vector_stores.files.update(file_id=md_id, vector_store_id=store_id, attributes={"topic": "animals"})
    hits = await client.vector_stores.search(store_id, query="llama hay", filters={
        "type": "eq", "key": "topic", "value": "space"})
    assert hits.data and {h.file_id for h in hits.data} == {pdf_id}


async def test_deleting_a_file_removes_its_chunks(library):
    client = library.openai
    store_id, md_id, pdf_id = await make_store(client)
    await client.vector_stores.files.delete(file_id=pdf_id, vector_store_id=store_id)
    hits = await client.vector_stores.search(store_id, query="telescope mirror cerium oxide")
    assert pdf_id not in {h.file_id for h in hits.data}
    store = await client.vector_stores.retrieve(store_id)
    assert store.file_counts.total == 1


async def test_restart_keeps_files_stores_and_chunks(tmp_path):
    async with polystack.connect(config(tmp_path)) as stack:
        store_id, _, pdf_id = await make_store(stack.openai)
    async with polystack.connect(config(tmp_path)) as stack:
        store = await stack.openai.vector_stores.retrieve(store_id)
        assert store.file_counts.completed == 2 and store.usage_bytes > 0
        hits = await stack.openai.vector_stores.search(store_id, query="telescope mirror polishing")
        assert hits.data[0].file_id == pdf_id
        assert (await stack.openai.files.content(pdf_id)).content == PDF


async def test_unsupported_file_fails_alone_with_last_error(library):
    client = library.openai
    good = await client.files.create(file=("llamas.md", MARKDOWN), purpose="assistants")
    bad = await client.files.create(file=("photo.png", b"\x89PNG\r\n\x1a\n" + bytes(200)), purpose="assistants")
    batch = await client.vector_stores.create(name="mixed")
    created = await client.vector_stores.file_batches.create(vector_store_id=batch.id, file_ids=[good.id, bad.id])
    await wait_completed(client, batch.id)
    files = {f.id: f for f in (await client.vector_stores.files.list(batch.id)).data}
    assert files[good.id].status == "completed"
    assert files[bad.id].status == "failed" and files[bad.id].last_error.code == "unsupported_file"
    done = await client.vector_stores.file_batches.retrieve(created.id, vector_store_id=batch.id)
    assert done.status == "completed" and done.file_counts.failed == 1 and done.file_counts.completed == 1


async def test_bad_input_gets_clear_4xx(library):
    client = library.openai
    with pytest.raises(openai.NotFoundError, match="file-nope"):
        await client.vector_stores.create(file_ids=["file-nope"])
    with pytest.raises(openai.BadRequestError, match="file"):
        await client.files.create(file=("empty.txt", b""), purpose="assistants")
    with pytest.raises(openai.BadRequestError, match="purpose"):
        await client.files.create(file=("a.txt", b"hi"), purpose="nonsense")
    with pytest.raises(openai.APIStatusError) as too_big:
        await client.files.create(file=("big.txt", b"x" * 300_000), purpose="assistants")
    assert too_big.value.status_code == 413
    store = await client.vector_stores.create(name="empty")
    response = await library.http.post(f"/v1/vector_stores/{store.id}/search",
                                       json={"query": "x", "filters": {"type": "between", "key": "a", "value": 1}})
    assert response.status_code == 400 and "filters" in response.json()["error"]["message"]
    assert (await library.http.get("/v1/vector_stores/vs_nope")).status_code == 404


async def test_vector_io_insert_and_query(library):
    store = await library.openai.vector_stores.create(name="raw")
    response = await library.http.post("/v1/vector-io/insert", json={"vector_store_id": store.id, "chunks": [
        {"content": "Penguins live in the southern hemisphere.", "metadata": {"document_id": "doc-1"}},
        {"content": "The stock market closed higher today.", "metadata": {"document_id": "doc-2"}}]})
    assert response.status_code == 204
    result = (await library.http.post("/v1/vector-io/query", json={
        "vector_store_id": store.id, "query": "Where do penguins live?", "params": {"max_chunks": 1}})).json()
    assert result["chunks"][0]["content"].startswith("Penguins") and len(result["scores"]) == 1


def rewriting_config(tmp_path, reply: str | None):
    """The e2e config plus a scripted chat model as the server's query expansion model (or none)."""
    cfg = config(tmp_path)
    if reply is None:
        return cfg
    data = cfg.model_dump(mode="json")
    data["providers"]["inference"].append({"provider_id": "rewriter", "provider_type": "inline::scripted",
                                           "config": {"replies": [{"content": reply}]}})
    data["vector_stores"]["default_query_expansion_model"] = "rewriter/scripted-model"
    return parse_run_config(data, env={})


async def test_rewrite_query_searches_what_the_expansion_model_wrote(tmp_path):
    """A question that shares no words with the passage finds it through the rewritten query."""
    async with polystack.connect(rewriting_config(tmp_path, "Search query: cerium oxide mirror polishing")) as stack:
        store_id, _, pdf_id = await make_store(stack.openai)
        hits = await stack.openai.vector_stores.search(store_id, query="shiny glass upkeep?",
                                                       rewrite_query=True, extra_body={"search_mode": "keyword"})
        assert hits.search_query == ["cerium oxide mirror polishing"]
        assert hits.data and hits.data[0].file_id == pdf_id
        plain = await stack.openai.vector_stores.search(store_id, query="shiny glass upkeep?",
                                                        extra_body={"search_mode": "keyword"})
        assert plain.search_query == ["shiny glass upkeep?"] and not plain.data


async def test_rewrite_query_without_an_expansion_model_is_a_clear_400(library):
    store = await library.openai.vector_stores.create(name="plain")
    with pytest.raises(openai.BadRequestError, match="default_query_expansion_model") as error:
        await library.openai.vector_stores.search(store.id, query="anything", rewrite_query=True)
    assert error.value.body["param"] == "rewrite_query"


def long_document_with_a_late_passage() -> str:
    """~2,800 tokens of weather filler with one distinct sentence at token ~1,520: in 800-token chunks
    overlapping by 400 (starting at 800 and 1,200) that sentence lies beyond the 256th token of both."""
    from polystack.providers.utils.documents.tokens import count_tokens

    def paragraph(n: int) -> str:
        return f"Paragraph {n} describes the weather on an ordinary day in the valley."

    before: list[str] = []
    while count_tokens(" ".join(before)) < 1520:
        before.append(paragraph(len(before)))
    after = [paragraph(n) for n in range(len(before), 200)]
    return " ".join([*before, "The lighthouse keeper repaints the red lantern gallery every autumn.", *after])


async def test_auto_chunking_fits_the_embedding_models_window_so_late_passages_are_found(library):
    """all-MiniLM-L6-v2 reads 256 tokens: an 800-token chunk would be embedded from its start only."""
    uploaded = await library.openai.files.create(file=("long.txt", long_document_with_a_late_passage().encode()),
                                                 purpose="assistants")
    store = await library.openai.vector_stores.create(name="auto", file_ids=[uploaded.id])
    await wait_completed(library.openai, store.id)
    attached = await library.openai.vector_stores.files.retrieve(file_id=uploaded.id, vector_store_id=store.id)
    assert attached.chunking_strategy.static.max_chunk_size_tokens == 192
    assert attached.chunking_strategy.static.chunk_overlap_tokens == 48
    hits = await library.openai.vector_stores.search(store.id, query="who repaints the lighthouse lantern?")
    assert "lighthouse keeper" in hits.data[0].content[0].text


async def test_an_ingestion_that_is_no_longer_wanted_stops_and_leaves_no_chunks(library):
    """Another replica detaching or cancelling a file only changes its row: the ingesting one checks the row
    between batches, stops, and removes what it had indexed."""
    store_id, md_id, _ = await make_store(library.openai)
    router = library.stack.impls[Api.vector_io]
    store, record = await router.records.store(store_id), await router.records.file(store_id, md_id)

    async def unwanted() -> bool:
        return False

    assert await router.ingestor.ingest(store, record, router.providers["sqlite-vec"], unwanted) is None
    hits = await library.openai.vector_stores.search(store_id, query="llama hay feeding",
                                                     extra_body={"search_mode": "keyword"})
    assert md_id not in {hit.file_id for hit in hits.data}
    content = (await library.http.get(f"/v1/vector_stores/{store_id}/files/{md_id}/content")).json()
    assert content["data"] == []


async def test_deleting_a_store_removes_its_files_and_their_chunk_texts(library):
    client = library.openai
    store_id, md_id, _ = await make_store(client)
    assert (await client.vector_stores.delete(store_id)).deleted
    with pytest.raises(openai.NotFoundError):
        await client.vector_stores.files.retrieve(file_id=md_id, vector_store_id=store_id)
    records = library.stack.impls[Api.vector_io].records
    with pytest.raises(NotFoundError):
        await records.chunk_texts(store_id, md_id)  # no texts left behind, and no row to fall back on


async def test_files_a_stop_interrupts_are_ingested_after_the_restart(tmp_path):
    """Stopping the server is not cancelling: files still in progress (or queued) resume at the next start."""
    data = config(tmp_path).model_dump(mode="json")
    data["vector_stores"]["ingestion_concurrency"] = 1
    cfg = parse_run_config(data, env={})
    async with polystack.connect(cfg) as stack:
        client = stack.openai
        ids = [(await client.files.create(file=(f"llamas-{n}.md", MARKDOWN), purpose="assistants")).id
               for n in range(4)]
        store = await client.vector_stores.create(name="interrupted", file_ids=ids)
    async with polystack.connect(cfg) as stack:
        await wait_completed(stack.openai, store.id)
        files = (await stack.openai.vector_stores.files.list(store.id)).data
        assert {f.status for f in files} == {"completed"} and len(files) == 4
