"""Config of inline::faiss: a FAISS index per store in memory; chunks and vectors persisted in SQLite."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_PERSIST_DIR = "~/.polystack/vector_io/faiss"


class FaissConfig(BaseModel):
    """Chunks, their text (FTS5) and vectors live in `<persist_dir>/faiss.db`; indexes are rebuilt at startup."""

    model_config = ConfigDict(extra="forbid")

    persist_dir: str = Field(
        default=DEFAULT_PERSIST_DIR,
        description="Folder of faiss.db (created if missing). One server process per folder.",
    )
    index: Literal["flat", "hnsw"] = Field(
        default="flat",
        description="flat: IndexFlatIP, exact (one query at a time FAISS scans without BLAS: ~20-45 ms at "
        "100,000 x 384 on 2 cores). hnsw: IndexHNSWFlat, approximate and fast to query; it pays off on large "
        "stores of real (clustered) embeddings, but on uniformly random vectors its recall is poor, and "
        "building it is slow (over a minute per 100,000 x 384 on 2 cores, at every startup).",
    )
    hnsw_m: int = Field(default=32, ge=4, le=128, description="HNSW: neighbours per node.")
    hnsw_ef_construction: int = Field(default=64, ge=8, description="HNSW: candidate list size while building.")
    hnsw_ef_search: int = Field(default=128, ge=8, description="HNSW: candidate list size per query (recall vs time).")
    omp_threads: int | None = Field(
        default=None, ge=1, description="FAISS's OpenMP threads (process-wide); unset keeps FAISS's default.",
    )
    threads: int = Field(default=4, ge=1, le=64, description="Worker threads for SQLite and search work.")

    @classmethod
    def sample_config(cls) -> dict[str, Any]:
        return {"persist_dir": "${env.POLYSTACK_STORE_DIR:=~/.polystack/distributions/starter}/faiss"}
