"""The RAG tool runtime: documents become vector store files (files API + attach with static chunking), and
knowledge_search / rag-tool/query gather the best chunks of several stores into one context within a budget."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from polystack.apis.errors import InvalidRequestError, NotFoundError, ProviderTimeoutError
from polystack.apis.files.protocol import Files
from polystack.apis.files.types import CreateFileRequest, FilePurpose
from polystack.apis.inference.protocol import Inference
from polystack.apis.inference.types import ChatCompletionRequest
from polystack.apis.tool_groups.types import URL, ListToolDefsResponse, ToolDef
from polystack.apis.tool_runtime.context import current_tool_group
from polystack.apis.tool_runtime.rag import (
    DefaultRAGQueryGeneratorConfig,
    InsertDocumentsRequest,
    RAGDocument,
    RAGQueryConfig,
    RAGQueryRequest,
    RAGQueryResult,
)
from polystack.apis.tool_runtime.types import TextContentItem, ToolInvocationResult
from polystack.apis.vector_io.protocol import VectorIO
from polystack.apis.vector_io.types import (
    AttachFileRequest,
    RankingOptions,
    SearchRequest,
    SearchResult,
    StaticChunking,
    StaticChunkingStrategy,
)
from polystack.providers.inline.tool_runtime.rag.config import RagRuntimeConfig
from polystack.providers.inline.tool_runtime.rag.documents import DocumentReader, Payload, content_text
from polystack.providers.utils.documents.tokens import count_tokens

logger = logging.getLogger("polystack.tool_runtime.rag")

TOOL_NAME = "knowledge_search"
MAX_ATTRIBUTES = 16  # a vector store file's limit (OpenAI's)
MAX_ATTRIBUTE_CHARS = 512
POLL_SECONDS = 0.05
MAX_STORES = 20


def knowledge_search_tool() -> ToolDef:
    return ToolDef(name=TOOL_NAME, description="Search for information in a database.", input_schema={
        "type": "object",
        "properties": {"query": {"type": "string", "description": (
            "The query to search for. Can be a natural language sentence or keywords.")}},
        "required": ["query"],
    })


@dataclass(frozen=True)
class ChunkView:
    """What a chunk template's `{chunk.*}` fields read."""

    content: str
    document_id: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    vector_store_id: str
    result: SearchResult

    @property
    def text(self) -> str:
        return "\n".join(part.text for part in self.result.content)

    @property
    def document_id(self) -> str:
        value = self.result.attributes.get("document_id")
        return str(value) if value is not None else self.result.file_id


class RagRuntime:
    """inline::rag-runtime: serves `knowledge_search` and the rag-tool routes as the caller (its stores, files)."""

    provider_id: str = "rag-runtime"

    def __init__(self, config: RagRuntimeConfig, vector_io: VectorIO, files: Files | None,
                 inference: Inference | None = None) -> None:
        self.config = config
        self.vector_io = vector_io
        self.files = files
        self.inference = inference
        self.reader = DocumentReader(config.max_document_bytes, config.fetch_timeout_seconds,
                                     private_addresses=config.fetch_private_addresses)

    # ---- the tool runtime ---------------------------------------------------------------------

    async def list_runtime_tools(self, tool_group_id: str | None = None,
                                 mcp_endpoint: URL | None = None) -> ListToolDefsResponse:
        return ListToolDefsResponse(data=[knowledge_search_tool()])

    async def invoke_tool(self, tool_name: str, kwargs: dict[str, Any]) -> ToolInvocationResult:
        """knowledge_search: the stores and query config from the kwargs, else from the group's args."""
        if tool_name != TOOL_NAME:
            raise NotFoundError(f"Provider '{self.provider_id}' has no tool '{tool_name}' (only {TOOL_NAME})",
                                param="tool_name")
        query = kwargs.get("query")
        if not isinstance(query, str) or not query.strip():
            raise InvalidRequestError(f"{TOOL_NAME} needs a non-empty string 'query'", param="kwargs.query")
        group = current_tool_group()
        args = (group.args if group is not None else None) or {}
        store_ids, where = _first_given(("vector_store_ids", "vector_db_ids"), kwargs, args)
        if not store_ids:
            raise InvalidRequestError(f"{TOOL_NAME} has no vector stores to search: register its tool group with "
                                      "args {\"vector_store_ids\": [...]} or pass kwargs.vector_store_ids",
                                      param="kwargs.vector_store_ids")
        if isinstance(store_ids, str):
            store_ids = [store_ids]
        if not isinstance(store_ids, list) or not all(isinstance(s, str) and s for s in store_ids) \
                or len(store_ids) > MAX_STORES:
            raise InvalidRequestError(f"{TOOL_NAME}: vector store ids must be a list of 1 to {MAX_STORES} strings",
                                      param=where)
        config_value, config_where = _first_given(("query_config",), kwargs, args)
        try:
            config = RAGQueryConfig.model_validate(config_value) if config_value else None
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InvalidRequestError(f"{TOOL_NAME}: query_config: {first['msg']}",
                                      param=f"{config_where}.{_loc(first['loc'])}".rstrip(".")) from None
        request = RAGQueryRequest(content=query, vector_store_ids=store_ids, query_config=config)
        result = await self.query(request)
        return ToolInvocationResult(content=result.content or [], metadata=result.metadata)

    async def shutdown(self) -> None:
        return None

    # ---- rag-tool/insert ----------------------------------------------------------------------

    async def insert(self, request: InsertDocumentsRequest) -> None:
        if self.files is None:
            raise InvalidRequestError("This server has no files API, which rag-tool/insert stores documents with",
                                      param="documents")
        await self.vector_io.get_vector_store(request.vector_store_id)  # unknown or not the caller's: 404 first
        sources = [await self.reader.read(document, f"documents[{number}].content")
                   for number, document in enumerate(request.documents)]
        size = request.chunk_size_in_tokens
        strategy = StaticChunkingStrategy(static=StaticChunking(max_chunk_size_tokens=size,
                                                                chunk_overlap_tokens=size // 4))
        attached: list[tuple[int, str]] = []
        for number, (document, source) in enumerate(zip(request.documents, sources, strict=True)):
            if isinstance(source, Payload):
                uploaded = await self.files.create_file(
                    CreateFileRequest(purpose=FilePurpose.assistants, filename=source.filename), _once(source.data))
                file_id = uploaded.id
            else:
                await self.files.get_file(source.file_id)
                file_id = source.file_id
            await self.vector_io.attach_file(request.vector_store_id, AttachFileRequest(
                file_id=file_id, attributes=attributes_of(document), chunking_strategy=strategy))
            attached.append((number, file_id))
        await self._indexed(request, attached)

    async def _indexed(self, request: InsertDocumentsRequest, attached: list[tuple[int, str]]) -> None:
        """Returns once every file is indexed; a file that failed is a 400 naming its document."""
        deadline = time.monotonic() + self.config.ingestion_timeout_seconds
        for number, file_id in attached:
            while True:
                record = await self.vector_io.get_file(request.vector_store_id, file_id)
                if record.status == "completed":
                    break
                if record.status in ("failed", "cancelled"):
                    reason = record.last_error.message if record.last_error else record.status
                    raise InvalidRequestError(f"Document '{request.documents[number].document_id}' could not be "
                                              f"indexed: {reason}", param=f"documents[{number}]")
                if time.monotonic() > deadline:
                    raise ProviderTimeoutError(self.provider_id, f"indexing the documents took more than "
                                               f"{self.config.ingestion_timeout_seconds:g}s; they are still being "
                                               f"indexed in vector store '{request.vector_store_id}'")
                await asyncio.sleep(POLL_SECONDS)

    # ---- rag-tool/query -----------------------------------------------------------------------

    async def query(self, request: RAGQueryRequest) -> RAGQueryResult:
        config = request.query_config or RAGQueryConfig()
        query = await self._query_text(request, config)
        ranking = RankingOptions(ranker=config.ranker) if config.ranker is not None else None
        search = SearchRequest(query=query, max_num_results=config.max_chunks, search_mode=config.mode,
                               ranking_options=ranking)
        store_ids = list(dict.fromkeys(request.vector_store_ids))
        pages = await asyncio.gather(*(self.vector_io.search_vector_store(store_id, search)
                                       for store_id in store_ids))
        hits = [Hit(store_id, result) for store_id, page in zip(store_ids, pages, strict=True) for result in page.data]
        hits.sort(key=lambda hit: hit.result.score, reverse=True)
        return context_of(query, hits[:config.max_chunks], config)

    async def _query_text(self, request: RAGQueryRequest, config: RAGQueryConfig) -> str:
        """The content's text, or (query generator `llm`) what the named chat model writes from it."""
        generator = config.query_generator_config
        separator = generator.separator if isinstance(generator, DefaultRAGQueryGeneratorConfig) else "\n"
        text = content_text(request.content, separator).strip()
        if not text:
            raise InvalidRequestError("The query content has no text", param="content")
        if isinstance(generator, DefaultRAGQueryGeneratorConfig):
            return text
        param = "query_config.query_generator_config.model"
        if self.inference is None:
            raise InvalidRequestError("This server has no inference API to write queries with", param=param)
        prompt = re.sub(r"\{\{\s*messages\s*\}\}", lambda _: text, generator.template)
        completion = await self.inference.chat_completion(ChatCompletionRequest.model_validate({
            "model": generator.model, "messages": [{"role": "user", "content": prompt}], "max_tokens": 64,
            "temperature": 0, "store": False}))
        if isinstance(completion, AsyncIterable):  # the request does not stream
            raise TypeError("a non-streamed chat completion came back as a stream")
        written = (completion.choices[0].message.content or "").strip()
        return written or text


def context_of(query: str, hits: list[Hit], config: RAGQueryConfig) -> RAGQueryResult:
    """The chunks written with the template, in score order, as many as fit the token budget."""
    texts: list[str] = []
    kept: list[Hit] = []
    tokens: list[int] = []
    used = 0
    for hit in hits:
        fields = {"document_id": hit.document_id,
                    **{k: v for k, v in hit.result.attributes.items() if k != "document_id"}}
        view = ChunkView(content=hit.text, document_id=hit.document_id, metadata=fields)
        text = config.chunk_template.format(index=len(kept) + 1, chunk=view, metadata=fields)
        count = count_tokens(text)
        if used + count > config.max_tokens_in_context:
            break
        used += count
        texts.append(text)
        kept.append(hit)
        tokens.append(count)
    metadata: dict[str, Any] = {
        "document_ids": [hit.document_id for hit in kept],
        "chunks": [hit.text for hit in kept],
        "scores": [hit.result.score for hit in kept],
        "vector_store_ids": [hit.vector_store_id for hit in kept],
        "chunk_metadata": [{"document_id": hit.document_id, "file_id": hit.result.file_id,
                            "filename": hit.result.filename, "vector_store_id": hit.vector_store_id,
                            "attributes": dict(hit.result.attributes), "token_count": count}
                           for hit, count in zip(kept, tokens, strict=True)],
        "token_count": used,
    }
    if not hits:
        return RAGQueryResult(content=None, metadata=metadata)
    content = [TextContentItem(text=f"knowledge_search tool found {len(kept)} chunks:\n"
                                    "BEGIN of knowledge_search tool results.\n"),
               *(TextContentItem(text=text) for text in texts),
               TextContentItem(text="END of knowledge_search tool results.\n"),
               TextContentItem(text=f'The above results were retrieved to help answer the user\'s query: "{query}". '
                                    "Use them as supporting information only in answering this query.\n")]
    return RAGQueryResult(content=list(content), metadata=metadata)


def attributes_of(document: RAGDocument) -> dict[str, str | int | float | bool]:
    """The vector store file's attributes: the document id, then its metadata (other values as JSON text)."""
    attributes: dict[str, str | int | float | bool] = {"document_id": document.document_id[:MAX_ATTRIBUTE_CHARS]}
    for key, value in document.metadata.items():
        if len(attributes) >= MAX_ATTRIBUTES:
            logger.info("document '%s': metadata beyond %d keys is not kept", document.document_id, MAX_ATTRIBUTES)
            break
        if key == "document_id" or value is None:
            continue
        kept = value if isinstance(value, str | int | float | bool) else json.dumps(value, ensure_ascii=False)
        attributes[str(key)[:64]] = kept[:MAX_ATTRIBUTE_CHARS] if isinstance(kept, str) else kept
    return attributes


def _first_given(names: tuple[str, ...], *sources: dict[str, Any]) -> tuple[Any, str]:
    """The first value given under one of `names` in the sources (kwargs, then the group's args), and where."""
    for number, source in enumerate(sources):
        for name in names:
            if source.get(name):
                return source[name], f"{'kwargs' if number == 0 else 'args'}.{name}"
    return None, f"kwargs.{names[0]}"


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
