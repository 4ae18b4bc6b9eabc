"""Config of inline::rag-runtime: limits on fetching documents by URL and on waiting for their indexing."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RagRuntimeConfig(BaseModel):
    """Every field has a default; `config: {}` is a working provider."""

    model_config = ConfigDict(extra="forbid")

    max_document_bytes: int = Field(default=20 * 1024 * 1024, ge=1, description=(
        "Largest document accepted by rag-tool/insert (inline text, data URL or fetched URL), in bytes."))
    fetch_timeout_seconds: float = Field(default=30.0, gt=0, description=(
        "Seconds fetching one http(s) document may take in all."))
    fetch_private_addresses: bool = Field(default=False, description=(
        "Fetch document URLs that resolve to loopback, private or link-local addresses (off: the server would "
        "otherwise fetch, for any caller, what only it can reach, e.g. cloud metadata)."))
    ingestion_timeout_seconds: float = Field(default=600.0, gt=0, description=(
        "Seconds rag-tool/insert waits for its documents to be chunked and embedded."))
