"""OpenAI vector store objects and requests, with Llama Stack's additions (provider, embedding model,
search modes) and its vector-io insert/query payloads."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from polystack.apis.vector_io.index import AttributeValue, Filter

VectorStoreStatus = Literal["expired", "in_progress", "completed"]
FileStatus = Literal["in_progress", "completed", "cancelled", "failed"]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- chunking ---------------------------------------------------------------------------------


class StaticChunking(_Strict):
    """Fixed-size token windows, validated as OpenAI documents them."""

    max_chunk_size_tokens: int = Field(ge=100, le=4096, description="Maximum tokens in each chunk (100 to 4096).")
    chunk_overlap_tokens: int = Field(
        ge=0, description="Tokens shared by consecutive chunks; must not exceed half of max_chunk_size_tokens.")

    @model_validator(mode="after")
    def _overlap_at_most_half(self) -> StaticChunking:
        if self.chunk_overlap_tokens * 2 > self.max_chunk_size_tokens:
            raise ValueError(f"chunk_overlap_tokens ({self.chunk_overlap_tokens}) must not exceed half of "
                             f"max_chunk_size_tokens ({self.max_chunk_size_tokens})")
        return self


class AutoChunkingStrategy(_Strict):
    """OpenAI's default: currently static windows of 800 tokens overlapping by 400."""

    type: Literal["auto"] = "auto"


class StaticChunkingStrategy(_Strict):
    type: Literal["static"] = "static"
    static: StaticChunking


WHOLE_DOCUMENT, CHUNK_CONTENT = "{{WHOLE_DOCUMENT}}", "{{CHUNK_CONTENT}}"
DEFAULT_CONTEXT_PROMPT = (
    "<document>\n{{WHOLE_DOCUMENT}}\n</document>\n"
    "Here is a chunk of that document:\n<chunk>\n{{CHUNK_CONTENT}}\n</chunk>\n"
    "Write one or two short sentences that situate this chunk within the whole document, to improve "
    "search retrieval of the chunk. Reply with those sentences only."
)


class ContextualChunking(_Strict):
    """Llama Stack's contextual retrieval: token windows, each prefixed with what a chat model says about
    where it sits in the document."""

    model_id: str | None = Field(
        default=None, min_length=1,
        description="Chat model that writes each chunk's context; default: the server's "
        "vector_stores.contextual_retrieval_params.model.")
    context_prompt: str = Field(
        default=DEFAULT_CONTEXT_PROMPT,
        description="Prompt with {{WHOLE_DOCUMENT}} before {{CHUNK_CONTENT}}: the part up to the chunk goes in "
        "the system message, the same for every chunk of a document, so providers can cache it.")
    max_chunk_size_tokens: int = Field(default=700, ge=100, le=4096)
    chunk_overlap_tokens: int = Field(default=400, ge=0)
    timeout_seconds: int | None = Field(default=None, ge=1, description="Per model call; default: the server's.")
    max_concurrency: int | None = Field(default=None, ge=1, description="Model calls at once; default: the server's.")

    @model_validator(mode="after")
    def _consistent(self) -> ContextualChunking:
        if self.chunk_overlap_tokens >= self.max_chunk_size_tokens:
            raise ValueError(f"chunk_overlap_tokens ({self.chunk_overlap_tokens}) must be less than "
                             f"max_chunk_size_tokens ({self.max_chunk_size_tokens})")
        for placeholder in (WHOLE_DOCUMENT, CHUNK_CONTENT):
            if placeholder not in self.context_prompt:
                raise ValueError(f"context_prompt must contain {placeholder}")
        if self.context_prompt.index(WHOLE_DOCUMENT) > self.context_prompt.index(CHUNK_CONTENT):
            raise ValueError(f"context_prompt must have {WHOLE_DOCUMENT} before {CHUNK_CONTENT}")
        return self


class ContextualChunkingStrategy(_Strict):
    type: Literal["contextual"] = "contextual"
    contextual: ContextualChunking


ChunkingStrategy = Annotated[AutoChunkingStrategy | StaticChunkingStrategy | ContextualChunkingStrategy,
                             Field(discriminator="type")]
# What a file records: auto is resolved to static windows; contextual keeps its model and prompt.
FileChunkingStrategy = Annotated[StaticChunkingStrategy | ContextualChunkingStrategy, Field(discriminator="type")]


def windows_of(strategy: StaticChunkingStrategy | ContextualChunkingStrategy) -> tuple[int, int]:
    """(max_chunk_size_tokens, chunk_overlap_tokens) of a file's strategy."""
    sizes = strategy.static if isinstance(strategy, StaticChunkingStrategy) else strategy.contextual
    return sizes.max_chunk_size_tokens, sizes.chunk_overlap_tokens


def static_of(strategy: AutoChunkingStrategy | StaticChunkingStrategy | None,
              embedding_context: int | None = None) -> StaticChunkingStrategy:
    """The concrete strategy a file is chunked with. auto (or none) is OpenAI's 800 tokens overlapping by
    400, shrunk to what the store's embedding model reads (`embedding_context`, in its own tokens): a chunk
    longer than that would be embedded from its beginning only. Chunks are counted in cl100k tokens, and
    an embedding model's tokenizer may need a third more for the same text, hence the 3/4.
    """
    if isinstance(strategy, StaticChunkingStrategy):
        return strategy
    size = 800 if not embedding_context else max(100, min(800, embedding_context * 3 // 4))
    # Shrunk chunks overlap by a quarter, not a half: at half, a document would cost 4x the embeddings.
    overlap = 400 if size == 800 else size // 4
    return StaticChunkingStrategy(static=StaticChunking(max_chunk_size_tokens=size, chunk_overlap_tokens=overlap))


class ExpiresAfter(_Strict):
    anchor: Literal["last_active_at"] = "last_active_at"
    days: int = Field(ge=1, le=365)


# ---- objects ----------------------------------------------------------------------------------


class FileCounts(BaseModel):
    in_progress: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    total: int = 0


class VectorStore(BaseModel):
    id: str
    object: Literal["vector_store"] = "vector_store"
    created_at: int
    name: str | None = None
    usage_bytes: int = 0
    file_counts: FileCounts = Field(default_factory=FileCounts)
    status: VectorStoreStatus = "completed"
    expires_after: ExpiresAfter | None = None
    expires_at: int | None = None
    last_active_at: int | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    # Llama Stack extensions
    provider_id: str | None = None
    embedding_model: str | None = None
    embedding_dimension: int | None = None


class LastError(BaseModel):
    code: Literal["server_error", "unsupported_file", "invalid_file"]
    message: str


class VectorStoreFile(BaseModel):
    id: str
    object: Literal["vector_store.file"] = "vector_store.file"
    usage_bytes: int = 0
    created_at: int
    vector_store_id: str
    status: FileStatus = "in_progress"
    last_error: LastError | None = None
    chunking_strategy: FileChunkingStrategy
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)


class VectorStoreFileBatch(BaseModel):
    id: str
    object: Literal["vector_store.files_batch"] = "vector_store.files_batch"
    created_at: int
    vector_store_id: str
    status: FileStatus = "in_progress"
    file_counts: FileCounts = Field(default_factory=FileCounts)


class Deleted(BaseModel):
    id: str
    object: str
    deleted: bool = True


# ---- requests ---------------------------------------------------------------------------------


class CreateVectorStoreRequest(_Open):
    name: str | None = None
    file_ids: list[str] = Field(default_factory=list)
    chunking_strategy: ChunkingStrategy | None = None
    expires_after: ExpiresAfter | None = None
    metadata: dict[str, str] = Field(default_factory=dict, max_length=16)
    provider_id: str | None = Field(default=None, description="Which vector_io provider keeps it (Llama Stack).")
    embedding_model: str | None = None
    embedding_dimension: int | None = Field(default=None, ge=1)


class UpdateVectorStoreRequest(_Strict):
    name: str | None = None
    expires_after: ExpiresAfter | None = None
    metadata: dict[str, str] | None = Field(default=None, max_length=16)


class _StoreChoices(_Strict):
    """Llama Stack clients repeat the store's embedding model, dimension or provider when attaching files;
    accepted, and checked against the store."""

    embedding_model: str | None = None
    embedding_dimension: int | None = Field(default=None, ge=1)
    provider_id: str | None = None


class AttachFileRequest(_StoreChoices):
    file_id: str = Field(min_length=1)
    attributes: dict[str, AttributeValue] = Field(default_factory=dict, max_length=16)
    chunking_strategy: ChunkingStrategy | None = None


class UpdateFileRequest(_Strict):
    attributes: dict[str, AttributeValue] = Field(max_length=16)


class CreateFileBatchRequest(_StoreChoices):
    file_ids: list[str] = Field(min_length=1, max_length=500)
    attributes: dict[str, AttributeValue] = Field(default_factory=dict, max_length=16)
    chunking_strategy: ChunkingStrategy | None = None


class RRFRanker(_Strict):
    type: Literal["rrf"] = "rrf"
    impact_factor: float = Field(default=60.0, gt=0)


class WeightedRanker(_Strict):
    type: Literal["weighted"] = "weighted"
    alpha: float = Field(default=0.5, ge=0, le=1, description="Weight of the vector score; 1 - alpha for keywords.")


class RankingOptions(_Open):
    ranker: str | RRFRanker | WeightedRanker | None = Field(
        default=None, description="OpenAI's 'auto' / 'default-2024-11-15', or a hybrid ranker (rrf, weighted).")
    score_threshold: float | None = Field(default=None, ge=0, le=1)


class SearchRequest(_Open):
    query: str | list[str]
    filters: Filter | None = None
    max_num_results: int = Field(default=10, ge=1, le=50)
    ranking_options: RankingOptions | None = None
    rewrite_query: bool = False
    search_mode: Literal["vector", "keyword", "hybrid"] = "vector"

    @model_validator(mode="after")
    def _non_empty_query(self) -> SearchRequest:
        queries = [self.query] if isinstance(self.query, str) else self.query
        if not queries or not all(q.strip() for q in queries):
            raise ValueError("'query' must be a non-empty string or list of non-empty strings")
        return self


class ContentText(BaseModel):
    type: Literal["text"] = "text"
    text: str


class SearchResult(BaseModel):
    file_id: str = Field(description="The file the chunk came from; '' for chunks inserted without a document.")
    filename: str
    score: float
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    content: list[ContentText]


class SearchResultsPage(BaseModel):
    object: Literal["vector_store.search_results.page"] = "vector_store.search_results.page"
    search_query: list[str]
    data: list[SearchResult]
    has_more: bool = False
    next_page: str | None = None


class VectorStoreFileContent(BaseModel):
    """GET .../files/{file_id}/content: the parsed text of an attached file, as its chunks in order."""

    object: Literal["vector_store.file_content.page"] = "vector_store.file_content.page"
    file_id: str
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    data: list[ContentText]
    has_more: bool = False
    next_page: str | None = None


# ---- Llama Stack vector-io --------------------------------------------------------------------


class ChunkMetadata(_Open):
    """Llama Stack's backend metadata of a chunk (not shown to models)."""

    chunk_id: str | None = None
    document_id: str | None = None
    source: str | None = None
    created_timestamp: int | None = None
    updated_timestamp: int | None = None
    chunk_window: str | None = None
    chunk_tokenizer: str | None = None
    content_token_count: int | None = None
    metadata_token_count: int | None = None
    chunk_embedding_model: str | None = None  # older Llama Stack clients read the model here
    chunk_embedding_dimension: int | None = None


class InsertChunk(_Open):
    content: str = Field(min_length=1)
    metadata: dict[str, Any] = Field(default_factory=dict)
    chunk_metadata: ChunkMetadata | None = None
    embedding: list[float] | None = None
    chunk_id: str | None = None

    @property
    def document_id(self) -> str | None:
        """metadata.document_id, else chunk_metadata.document_id (Llama Stack's precedence)."""
        return self.metadata.get("document_id") or (self.chunk_metadata.document_id if self.chunk_metadata else None)


class InsertChunksRequest(_Strict):
    vector_store_id: str
    chunks: list[InsertChunk] = Field(min_length=1)
    ttl_seconds: int | None = None


class QueryParams(_Open):
    """Llama Stack's query params; unknown keys are ignored, known ones are checked."""

    max_chunks: int = Field(default=10, ge=1, le=1000)
    mode: Literal["vector", "keyword", "hybrid"] = "vector"
    score_threshold: float = 0.0
    filters: Filter | None = None
    ranker: RRFRanker | WeightedRanker | None = Field(default=None, discriminator="type")


class QueryChunksRequest(_Strict):
    vector_store_id: str
    query: str = Field(min_length=1)
    params: QueryParams | None = Field(default=None, description="max_chunks, mode, score_threshold, filters, ranker")


class EmbeddedChunk(BaseModel):
    """A query result as Llama Stack returns it (without the vector itself, which indexes do not hand back)."""

    chunk_id: str
    content: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    chunk_metadata: ChunkMetadata
    embedding_model: str
    embedding_dimension: int


class QueryChunksResponse(BaseModel):
    chunks: list[EmbeddedChunk]
    scores: list[float]
