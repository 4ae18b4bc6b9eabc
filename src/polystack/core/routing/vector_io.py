"""The vector-io router: vector stores on any vector provider, with ingestion and search done here once."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any, Literal

from polystack.apis.errors import InvalidRequestError, NotFoundError, PolystackError
from polystack.apis.files.protocol import Files
from polystack.apis.models.types import ModelType
from polystack.apis.vector_io.index import ScoredChunk, VectorIndex
from polystack.apis.vector_io.types import (
    AttachFileRequest,
    ContentText,
    ContextualChunkingStrategy,
    CreateFileBatchRequest,
    CreateVectorStoreRequest,
    Deleted,
    InsertChunksRequest,
    QueryChunksRequest,
    QueryChunksResponse,
    QueryParams,
    RankingOptions,
    RRFRanker,
    SearchRequest,
    SearchResult,
    SearchResultsPage,
    StaticChunkingStrategy,
    UpdateFileRequest,
    UpdateVectorStoreRequest,
    VectorStore,
    VectorStoreFile,
    VectorStoreFileBatch,
    WeightedRanker,
    static_of,
)
from polystack.core.jobs.runner import JobRunner
from polystack.core.routing.inference import InferenceRouter
from polystack.core.telemetry.tracing import span
from polystack.core.vector_stores.contextual import ContextualDefaults, Contextualizer
from polystack.core.vector_stores.fusion import reciprocal_rank_fusion, weighted_fusion
from polystack.core.vector_stores.ingestion import Embedder, Ingestor
from polystack.core.vector_stores.ingestion_jobs import IngestionJobs
from polystack.core.vector_stores.query_rewrite import QueryRewriter
from polystack.core.vector_stores.raw_chunks import embedded_chunk, indexed_chunk
from polystack.core.vector_stores.records import VectorStoreRecords

logger = logging.getLogger("polystack.vector_io")
Order = Literal["asc", "desc"]


def _page(data: list[Any], has_more: bool) -> dict[str, Any]:
    """OpenAI's list shape; its spec types first_id and last_id as strings, so an empty page has ''."""
    ids = [item.id for item in data]
    return {"object": "list", "data": data, "first_id": ids[0] if ids else "",
            "last_id": ids[-1] if ids else "", "has_more": has_more}


def _with_provider(metadata: dict[str, str], provider_id: str | None) -> dict[str, str]:
    """The store's metadata as Llama Stack reports it: with the provider that keeps it."""
    return {**metadata, "provider_id": provider_id} if provider_id else dict(metadata)


def _choices_from_metadata(request: CreateVectorStoreRequest) -> CreateVectorStoreRequest:
    """Llama Stack also takes provider_id, embedding_model and embedding_dimension from the metadata
    (clients that cannot send extra body fields); the fields themselves win."""
    metadata = request.metadata
    dimension = request.embedding_dimension
    if dimension is None and "embedding_dimension" in metadata:
        try:
            dimension = int(metadata["embedding_dimension"])
        except ValueError:
            raise InvalidRequestError(f"metadata.embedding_dimension must be a whole number, not "
                                      f"'{metadata['embedding_dimension']}'", param="metadata.embedding_dimension"
                                      ) from None
    return request.model_copy(update={
        "provider_id": request.provider_id or metadata.get("provider_id"),
        "embedding_model": request.embedding_model or metadata.get("embedding_model"),
        "embedding_dimension": dimension})


class VectorIORouter:
    def __init__(self, providers: dict[str, VectorIndex], records: VectorStoreRecords, inference: InferenceRouter,
                 files: Files | None, jobs: JobRunner, *, default_provider_id: str | None,
                 default_embedding_model: str | None,
                 ingestion_concurrency: int = 2, embedding_batch_size: int = 32, max_file_bytes: int | None = None,
                 rewriter: QueryRewriter | None = None, contextual: ContextualDefaults | None = None) -> None:
        self.providers = providers
        self.records = records
        self.inference = inference
        self.files = files
        self.default_provider_id = default_provider_id or next(iter(providers), None)
        self.default_embedding_model = default_embedding_model
        self.embedder = Embedder(inference, embedding_batch_size)
        self.contextual = contextual or ContextualDefaults()
        self.ingestor = Ingestor(files, self.embedder, records, concurrency=ingestion_concurrency,
                                 max_file_bytes=max_file_bytes,
                                 contextualizer=Contextualizer(inference, self.contextual))
        self.rewriter = rewriter or QueryRewriter(inference, None)
        self.ingestion = IngestionJobs(jobs, records, self.ingestor, self._index)

    # ---- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Give a job to files left in progress without one. Interrupted ingestions need nothing here: their
        jobs are resumed by whichever replica takes their lease (the job runner stops them, too)."""
        await self.ingestion.adopt_orphans()

    # ---- stores -------------------------------------------------------------------------------

    async def _embedding_model(self, requested: str | None, dimension: int | None) -> tuple[str, int]:
        model_id = requested or self.default_embedding_model
        if model_id is None:
            raise InvalidRequestError("No embedding model: pass 'embedding_model' or configure "
                                      "vector_stores.default_embedding_model", param="embedding_model")
        model = await self.inference.table.get_model(model_id)
        if model.model_type != ModelType.embedding:
            raise InvalidRequestError(f"'{model_id}' is not an embedding model", param="embedding_model")
        native = int(model.metadata["embedding_dimension"])
        if dimension is not None and dimension != native:
            raise InvalidRequestError(f"'{model_id}' makes {native}-dimensional vectors, not {dimension}",
                                      param="embedding_dimension")
        return model_id, native

    def _index(self, provider_id: str | None) -> VectorIndex:
        if provider_id is None or provider_id not in self.providers:
            raise InvalidRequestError(
                f"Unknown vector_io provider '{provider_id}'; configured: {', '.join(sorted(self.providers))}",
                param="provider_id")
        return self.providers[provider_id]

    async def create_vector_store(self, request: CreateVectorStoreRequest) -> VectorStore:
        request = _choices_from_metadata(request)
        provider_id = request.provider_id or self.default_provider_id
        index = self._index(provider_id)
        model, dimension = await self._embedding_model(request.embedding_model, request.embedding_dimension)
        strategy = await self._settled(request.chunking_strategy)
        for file_id in request.file_ids:
            await self._check_file(file_id)
        now = int(time.time())
        store = VectorStore(id=f"vs_{uuid.uuid4().hex}", created_at=now, last_active_at=now, name=request.name,
                            metadata=_with_provider(request.metadata, provider_id), expires_after=request.expires_after,
                            expires_at=now + request.expires_after.days * 86400 if request.expires_after else None,
                            provider_id=provider_id, embedding_model=model, embedding_dimension=dimension)
        await index.create_store(store.id, dimension)
        await self.records.insert_store(store)
        for file_id in request.file_ids:
            await self._attach(store, file_id, {}, strategy, None)
        return await self.get_vector_store(store.id)

    async def list_vector_stores(self, *, after: str | None, before: str | None, limit: int,
                                 order: Order) -> dict[str, Any]:
        stores, has_more = await self.records.list_stores(after=after, limit=limit, order=order)
        return _page(stores, has_more)

    async def get_vector_store(self, vector_store_id: str) -> VectorStore:
        store = await self.records.store(vector_store_id)
        files, _ = await self.records.list_files(vector_store_id, after=None, limit=100000, order="asc", status=None)
        store.usage_bytes = sum(f.usage_bytes for f in files)
        store.status = "in_progress" if store.file_counts.in_progress else "completed"
        if store.expires_at is not None and store.expires_at <= time.time():
            store.status = "expired"
        return store

    async def update_vector_store(self, vector_store_id: str, request: UpdateVectorStoreRequest) -> VectorStore:
        store = await self.records.store(vector_store_id)
        changes = request.model_dump(exclude_unset=True)
        store.last_active_at = int(time.time())
        if "expires_after" in changes:
            store.expires_after = request.expires_after
        if store.expires_after is not None:  # anchored on last_active_at, which just moved
            store.expires_at = store.last_active_at + store.expires_after.days * 86400
        else:
            store.expires_at = None
        if "name" in changes:
            store.name = request.name
        if request.metadata is not None:
            store.metadata = _with_provider(request.metadata, store.provider_id)
        await self.records.save_store(store)
        return await self.get_vector_store(vector_store_id)

    async def delete_vector_store(self, vector_store_id: str) -> Deleted:
        store = await self.records.store(vector_store_id, change=True)  # first: it enforces the access policy (403)
        ingesting, _ = await self.records.list_files(vector_store_id, after=None, limit=None, order="asc",
                                                     status="in_progress")
        for record in ingesting:
            await self.ingestion.cancel(vector_store_id, record.id)
        await self.records.delete_store(vector_store_id)
        await self._index(store.provider_id).delete_store(vector_store_id)
        return Deleted(id=vector_store_id, object="vector_store.deleted")

    # ---- files --------------------------------------------------------------------------------

    async def _check_file(self, file_id: str) -> None:
        if self.files is None:
            raise InvalidRequestError("This server has no files API; upload files is not possible", param="file_id")
        await self.files.get_file(file_id)  # NotFoundError names the id

    async def _settled(self, strategy: Any) -> Any:
        """A request's strategy with a contextual one's model settled, before anything is created."""
        return await self._contextual(strategy) if isinstance(strategy, ContextualChunkingStrategy) else strategy

    async def _file_strategy(self, store: VectorStore, strategy: Any) -> StaticChunkingStrategy | \
            ContextualChunkingStrategy:
        """What a file is chunked with: contextual with its model settled, or static windows."""
        if isinstance(strategy, ContextualChunkingStrategy):
            return await self._contextual(strategy)
        context = None if isinstance(strategy, StaticChunkingStrategy) else await self._embedding_context(store)
        return static_of(strategy, context)

    async def _contextual(self, strategy: ContextualChunkingStrategy) -> ContextualChunkingStrategy:
        """The strategy with its chat model named (the request's, else the server's), checked to exist."""
        param = "chunking_strategy.contextual.model_id"
        model_id = strategy.contextual.model_id or self.contextual.model
        if model_id is None:
            raise InvalidRequestError(
                "chunking_strategy contextual needs a chat model, and this server has no default: pass "
                "chunking_strategy.contextual.model_id, or set vector_stores.contextual_retrieval_params.model "
                "in the server's config", param=param)
        try:
            model = await self.inference.table.get_model(model_id)
        except NotFoundError as exc:
            raise InvalidRequestError(f"contextual chunking: {exc.message}", param=param) from None
        if model.model_type != ModelType.llm:
            raise InvalidRequestError(f"contextual chunking needs a chat model; '{model_id}' is an "
                                      f"{model.model_type.value} model", param=param)
        return strategy.model_copy(update={"contextual": strategy.contextual.model_copy(
            update={"model_id": model_id})})

    async def _attach(self, store: VectorStore, file_id: str, attributes: dict[str, Any], strategy: Any,
                      batch_id: str | None) -> VectorStoreFile:
        record = VectorStoreFile(id=file_id, created_at=int(time.time()), vector_store_id=store.id,
                                 chunking_strategy=await self._file_strategy(store, strategy), attributes=attributes)
        await self.records.upsert_file(record, batch_id, chunks=[])
        await self.ingestion.submit(store.id, record.id, batch_id)
        return record

    async def _embedding_context(self, store: VectorStore) -> int | None:
        """How many tokens the store's embedding model reads (its `context_length`), if it says."""
        table = getattr(self.inference, "table", None)
        if table is None or not store.embedding_model:
            return None
        try:
            model, _ = await table.resolve(store.embedding_model)
        except PolystackError:
            return None
        value = (model.metadata or {}).get("context_length")
        return value if isinstance(value, int) and value > 0 else None

    @staticmethod
    def _check_store_choices(store: VectorStore, request: AttachFileRequest | CreateFileBatchRequest) -> None:
        """Llama Stack's embedding_model / embedding_dimension / provider_id on an attach must be the store's."""
        if request.embedding_model is not None and request.embedding_model != store.embedding_model:
            raise InvalidRequestError(f"vector store '{store.id}' embeds with '{store.embedding_model}', not "
                                      f"'{request.embedding_model}'", param="embedding_model")
        if request.provider_id is not None and request.provider_id != store.provider_id:
            raise InvalidRequestError(f"vector store '{store.id}' is kept by provider '{store.provider_id}', not "
                                      f"'{request.provider_id}'", param="provider_id")
        if request.embedding_dimension is not None and request.embedding_dimension != store.embedding_dimension:
            raise InvalidRequestError(f"vector store '{store.id}' holds {store.embedding_dimension}-dimensional "
                                      f"vectors, not {request.embedding_dimension}", param="embedding_dimension")

    async def attach_file(self, vector_store_id: str, request: AttachFileRequest) -> VectorStoreFile:
        store = await self.records.store(vector_store_id, change=True)
        self._check_store_choices(store, request)
        await self._check_file(request.file_id)
        return await self._attach(store, request.file_id, request.attributes, request.chunking_strategy, None)

    async def list_files(self, vector_store_id: str, *, after: str | None, before: str | None, limit: int,
                         order: Order, status: str | None) -> dict[str, Any]:
        await self.records.store(vector_store_id)
        files, has_more = await self.records.list_files(vector_store_id, after=after, limit=limit, order=order,
                                                        status=status)
        return _page(files, has_more)

    async def get_file(self, vector_store_id: str, file_id: str) -> VectorStoreFile:
        await self.records.store(vector_store_id)
        return await self.records.file(vector_store_id, file_id)

    async def update_file(self, vector_store_id: str, file_id: str, request: UpdateFileRequest) -> VectorStoreFile:
        store = await self.records.store(vector_store_id, change=True)
        record = await self.records.file(vector_store_id, file_id)
        record.attributes = request.attributes
        await self._index(store.provider_id).update_attributes(vector_store_id, file_id, request.attributes)
        await self.records.upsert_file(record)
        return record

    async def delete_file(self, vector_store_id: str, file_id: str) -> Deleted:
        store = await self.records.store(vector_store_id, change=True)
        await self.records.file(vector_store_id, file_id)
        await self.ingestion.cancel(vector_store_id, file_id)
        await self._index(store.provider_id).delete_chunks(vector_store_id, file_id=file_id)
        await self.records.delete_file(vector_store_id, file_id)
        return Deleted(id=file_id, object="vector_store.file.deleted")

    async def get_file_content(self, vector_store_id: str, file_id: str) -> dict[str, Any]:
        await self.records.store(vector_store_id)
        record = await self.records.file(vector_store_id, file_id)
        texts = await self.records.chunk_texts(vector_store_id, file_id)
        return {"object": "vector_store.file_content.page", "file_id": file_id, "attributes": record.attributes,
                "data": [ContentText(text=text) for text in texts],
                "has_more": False, "next_page": None}

    # ---- batches ------------------------------------------------------------------------------

    async def create_file_batch(self, vector_store_id: str, request: CreateFileBatchRequest) -> VectorStoreFileBatch:
        store = await self.records.store(vector_store_id, change=True)
        self._check_store_choices(store, request)
        strategy = await self._settled(request.chunking_strategy)
        for file_id in request.file_ids:
            await self._check_file(file_id)
        batch = VectorStoreFileBatch(id=f"vsfb_{uuid.uuid4().hex}", created_at=int(time.time()),
                                     vector_store_id=vector_store_id)
        await self.records.save_batch(batch, new=True)
        for file_id in dict.fromkeys(request.file_ids):
            await self._attach(store, file_id, request.attributes, strategy, batch.id)
        return await self.get_file_batch(vector_store_id, batch.id)

    async def get_file_batch(self, vector_store_id: str, batch_id: str) -> VectorStoreFileBatch:
        batch = await self.records.batch(vector_store_id, batch_id)
        if batch.status != "cancelled":
            batch.status = "in_progress" if batch.file_counts.in_progress else "completed"
        return batch

    async def list_file_batch_files(self, vector_store_id: str, batch_id: str, *, after: str | None,
                                    before: str | None, limit: int, order: Order,
                                    status: str | None) -> dict[str, Any]:
        await self.records.batch(vector_store_id, batch_id)
        files, has_more = await self.records.list_files(vector_store_id, after=after, limit=limit, order=order,
                                                        status=status, batch_id=batch_id)
        return _page(files, has_more)

    async def cancel_file_batch(self, vector_store_id: str, batch_id: str) -> VectorStoreFileBatch:
        batch = await self.records.batch(vector_store_id, batch_id)
        await self.records.store(vector_store_id, change=True)
        files, _ = await self.records.list_files(vector_store_id, after=None, limit=100000, order="asc",
                                                 status="in_progress", batch_id=batch_id)
        for record in files:  # their jobs first (here at once, on another replica at its next heartbeat), so
            await self.ingestion.cancel(vector_store_id, record.id)  # the flag is set before the file's status
        for record in files:
            await self.records.upsert_file(record.model_copy(update={"status": "cancelled"}), batch_id)
        batch.status = "cancelled"
        await self.records.save_batch(batch)
        return await self.records.batch(vector_store_id, batch_id)

    # ---- search -------------------------------------------------------------------------------

    async def _ranked(self, store: VectorStore, query: str, request: SearchRequest, k: int) -> list[ScoredChunk]:
        index = self._index(store.provider_id)
        vector: list[ScoredChunk] = []
        keyword: list[ScoredChunk] = []
        if request.search_mode in ("vector", "hybrid"):
            (embedding,) = await self.embedder.embed(store.embedding_model or "", [query])
            vector = await index.query_vector(store.id, embedding, k, request.filters)
        if request.search_mode in ("keyword", "hybrid"):
            keyword = await index.query_keyword(store.id, query, k, request.filters)
        if request.search_mode == "vector":
            return vector
        if request.search_mode == "keyword":
            return keyword
        ranker = request.ranking_options.ranker if request.ranking_options else None
        if isinstance(ranker, WeightedRanker):
            return weighted_fusion(vector, keyword, ranker.alpha)
        impact = ranker.impact_factor if isinstance(ranker, RRFRanker) else 60.0
        return reciprocal_rank_fusion([vector, keyword], impact)

    async def search_vector_store(self, vector_store_id: str, request: SearchRequest) -> SearchResultsPage:
        store = await self.records.store(vector_store_id)
        queries = [request.query] if isinstance(request.query, str) else request.query
        if request.rewrite_query:
            queries = [await self.rewriter.rewrite(query) for query in queries]
        k = request.max_num_results
        best: dict[str, ScoredChunk] = {}
        for query in queries:
            with span("vector_store search", {"polystack.vector_store_id": store.id,
                                              "polystack.search_mode": str(request.search_mode)}):
                ranked = await self._ranked(store, query, request, k)
            for item in ranked:
                kept = best.get(item.chunk.chunk_id)
                if kept is None or item.score > kept.score:
                    best[item.chunk.chunk_id] = item
        results = sorted(best.values(), key=lambda item: item.score, reverse=True)
        threshold = request.ranking_options.score_threshold if request.ranking_options else None
        if threshold is not None:
            results = [item for item in results if item.score >= threshold]
        return SearchResultsPage(search_query=queries, data=[
            SearchResult(file_id=item.chunk.file_id or "", filename=item.chunk.filename or "", score=item.score,
                         attributes=item.chunk.attributes, content=[ContentText(text=item.chunk.content)])
            for item in results[:k]])

    # ---- Llama Stack vector-io ------------------------------------------------------------------

    async def insert_chunks(self, request: InsertChunksRequest) -> None:
        for number, chunk in enumerate(request.chunks):
            value = chunk.metadata.get("document_id")
            if value is not None and not isinstance(value, str):
                raise InvalidRequestError(f"metadata.document_id must be a string, got {type(value).__name__}",
                                          param=f"chunks[{number}].metadata.document_id")
        store = await self.records.store(request.vector_store_id, change=True)
        missing = [c.content for c in request.chunks if c.embedding is None]
        computed = iter(await self.embedder.embed(store.embedding_model or "", missing) if missing else [])
        vectors = [c.embedding if c.embedding is not None else next(computed) for c in request.chunks]
        for vector in vectors:
            if len(vector) != store.embedding_dimension:
                raise InvalidRequestError(f"an embedding has {len(vector)} dimensions; the store takes "
                                          f"{store.embedding_dimension}", param="chunks")
        chunks = [indexed_chunk(c) for c in request.chunks]
        await self._index(store.provider_id).add_chunks(store.id, chunks, vectors)

    async def query_chunks(self, request: QueryChunksRequest) -> QueryChunksResponse:
        params = request.params or QueryParams()
        search = SearchRequest(query=request.query, max_num_results=min(params.max_chunks, 50),
                               search_mode=params.mode, filters=params.filters,
                               ranking_options=RankingOptions(ranker=params.ranker) if params.ranker else None)
        store = await self.records.store(request.vector_store_id)
        with span("vector_store search", {"polystack.vector_store_id": store.id,
                                          "polystack.search_mode": str(params.mode)}):
            ranked = await self._ranked(store, request.query, search, params.max_chunks)
        kept = [item for item in ranked if item.score >= params.score_threshold][:params.max_chunks]
        return QueryChunksResponse(chunks=[embedded_chunk(item.chunk, store) for item in kept],
                                   scores=[item.score for item in kept])
