"""Config of inline::sqlite-vec: the default vector store, durable in one SQLite file, searched in memory."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_DB_PATH = "~/.polystack/vector_io/sqlite_vec.db"


class SqliteVecConfig(BaseModel):
    """Chunks, their text (FTS5) and vectors (sqlite-vec vec0) in `db_path`; queries from memory by default."""

    model_config = ConfigDict(extra="forbid")

    db_path: str = Field(
        default=DEFAULT_DB_PATH,
        description="SQLite file of every store (created with its folder if missing). Several processes (workers, "
        "replicas on one machine) may share it: each catches its in-memory index up with the file before every "
        "query and write (one small read when nothing changed), so deletes elsewhere are honoured at once.",
    )
    in_memory_index: bool = Field(
        default=True,
        description="Serve vector queries from a float32 copy of the vectors in memory (exact; ~10 ms at "
        "100,000 x 384 on 2 cores; 1.5 KB of RAM per 384-d chunk, loaded at startup). false: sqlite-vec's "
        "vec0 scan answers instead (exact, no copy, ~100-150 ms at 100,000 x 384).",
    )
    threads: int = Field(default=4, ge=1, le=64, description="Worker threads for SQLite and search work.")
    ann_threshold: int | None = Field(
        default=10_000, ge=1,
        description="Live chunks from which a store is also indexed by an HNSW graph (usearch, int8, candidates "
        "rescored exactly) that unfiltered or broadly filtered vector queries walk (at 100,000 x 384: ~2 ms of "
        "CPU instead of ~20 ms for a scan on a busy machine, recall@10 ~0.97 on MiniLM vectors); below it, and "
        "for filters passing under 20% of a store, search stays exact. The graph is saved beside `db_path` "
        "(`<db_path>.hnsw/`), caught up or rebuilt from the database when stale or missing. null: always "
        "exact. Needs `in_memory_index`.",
    )
    ann_ef_search: int = Field(default=256, ge=10, le=4096,
                               description="HNSW candidates kept per query (higher: better recall, slower; "
                               "128: recall@10 ~0.95 for about half the CPU).")

    @classmethod
    def sample_config(cls) -> dict[str, Any]:
        return {"db_path": "${env.POLYSTACK_STORE_DIR:=~/.polystack/distributions/starter}/sqlite_vec.db"}
