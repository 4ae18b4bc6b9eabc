"""The RAG tool's sub-API (Llama Stack's rag-tool insert and query): documents in, retrieved context out."""

from __future__ import annotations

from string import Formatter
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from polystack.apis.tool_groups.types import URL
from polystack.apis.tool_runtime.types import InterleavedContent
from polystack.apis.vector_io.types import RRFRanker, WeightedRanker

DEFAULT_QUERY_TEMPLATE = ("Write a short search query that finds what this message asks about. Reply with the query "
                          "only.\n\n{{messages}}")
DEFAULT_CHUNK_TEMPLATE = "Result {index}\nContent: {chunk.content}\nMetadata: {metadata}\n"
# What a chunk template may name: `str.format` would otherwise reach any attribute of the objects it is given.
TEMPLATE_FIELDS = frozenset({"index", "metadata", "chunk.content", "chunk.document_id", "chunk.metadata"})


class RAGDocument(BaseModel):
    """A document to insert: text (or a data URL), or `{"uri": ...}` naming a data URL, an http(s) URL or an
    uploaded file (`file-...`, `files/file-...` or `/v1/files/file-.../content`)."""

    model_config = ConfigDict(extra="forbid")

    document_id: str = Field(min_length=1, max_length=512)
    content: InterleavedContent | URL
    mime_type: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class InsertDocumentsRequest(BaseModel):
    """POST /v1/tool-runtime/rag-tool/insert (`vector_db_id` is the older clients' name of `vector_store_id`)."""

    model_config = ConfigDict(extra="forbid")

    documents: list[RAGDocument] = Field(min_length=1, max_length=100)
    vector_store_id: str = Field(min_length=1, validation_alias=AliasChoices("vector_store_id", "vector_db_id"))
    chunk_size_in_tokens: int = Field(default=512, ge=100, le=4096, description="Tokens per chunk (100 to 4096).")


class DefaultRAGQueryGeneratorConfig(BaseModel):
    """The query is the content's text, its parts joined by `separator`."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["default"] = "default"
    separator: str = " "


class LLMRAGQueryGeneratorConfig(BaseModel):
    """The query is what a chat model writes from the template, `{{messages}}` replaced by the content's text."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["llm"] = "llm"
    model: str = Field(min_length=1, description="The chat model that writes the query.")
    template: str = Field(default=DEFAULT_QUERY_TEMPLATE, min_length=1)

    @field_validator("template")
    @classmethod
    def _names_messages(cls, template: str) -> str:
        if "{{messages}}" not in template.replace(" ", ""):
            raise ValueError("must contain {{messages}}")
        return template


QueryGeneratorConfig = Annotated[DefaultRAGQueryGeneratorConfig | LLMRAGQueryGeneratorConfig,
                                 Field(discriminator="type")]
Ranker = Annotated[RRFRanker | WeightedRanker, Field(discriminator="type")]


class RAGQueryConfig(BaseModel):
    """How much context a query gathers and how each chunk is written into it."""

    model_config = ConfigDict(extra="forbid")

    query_generator_config: QueryGeneratorConfig = Field(default_factory=DefaultRAGQueryGeneratorConfig)
    max_tokens_in_context: int = Field(default=4096, ge=1, description="Token budget of the chunks (cl100k).")
    max_chunks: int = Field(default=5, ge=1, le=50)
    chunk_template: str = Field(default=DEFAULT_CHUNK_TEMPLATE, min_length=1, description=(
        "Each chunk's text; fields: {index} (from 1), {chunk.content}, {metadata}, {chunk.document_id}, "
        "{chunk.metadata}."))
    mode: Literal["vector", "keyword", "hybrid"] = "vector"
    ranker: Ranker | None = Field(default=None, description="How hybrid mode fuses the two rankings (default rrf).")

    @field_validator("chunk_template")
    @classmethod
    def _known_fields(cls, template: str) -> str:
        try:
            fields = [field for _, field, _spec, _conversion in Formatter().parse(template) if field is not None]
        except ValueError as exc:
            raise ValueError(f"not a valid template: {exc}") from None
        if "chunk.content" not in fields:
            raise ValueError("must contain {chunk.content}")
        unknown = [field for field in fields if field not in TEMPLATE_FIELDS]
        if unknown:
            raise ValueError(f"unknown field {{{unknown[0]}}}; known: {', '.join(sorted(TEMPLATE_FIELDS))}")
        return template


class RAGQueryRequest(BaseModel):
    """POST /v1/tool-runtime/rag-tool/query (`vector_db_ids` is the older clients' name of `vector_store_ids`)."""

    model_config = ConfigDict(extra="forbid")

    content: InterleavedContent
    vector_store_ids: list[str] = Field(min_length=1, max_length=20,
                                        validation_alias=AliasChoices("vector_store_ids", "vector_db_ids"))
    query_config: RAGQueryConfig | None = None


class RAGQueryResult(BaseModel):
    """The context found (`content`, None when nothing matched) and what it came from (`metadata`:
    document_ids, chunks, scores, vector_store_ids, and each chunk's file, attributes and tokens)."""

    content: InterleavedContent | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


@runtime_checkable
class RAGToolRuntime(Protocol):
    """A tool_runtime provider that also serves the rag-tool routes (inline::rag-runtime)."""

    async def insert(self, request: InsertDocumentsRequest) -> None:
        """Upload each document as a file and attach it to the vector store; returns once they are indexed."""
        ...

    async def query(self, request: RAGQueryRequest) -> RAGQueryResult:
        """The chunks of the stores that best match the content, within the query config's budget."""
        ...
