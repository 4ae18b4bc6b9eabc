"""Config of remote::pgvector: chunks, vectors and keyword index of every store in a PostgreSQL database."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from polystack.core.storage.config import PostgresConnection


class PgvectorConfig(PostgresConnection):
    """A PostgreSQL server with the pgvector extension (0.5 or later, for HNSW); the database is created if
    missing and the extension enabled in it, which needs a role allowed to CREATE EXTENSION (or an admin
    who ran `CREATE EXTENSION vector` there once). Every replica pointing at it sees the same stores."""

    table_prefix: str = Field(
        default="polystack_vectors_", pattern=r"^[a-z_][a-z0-9_]{0,29}$",
        description="Prefix of this provider's tables: `<prefix>stores`, the catalogue, and one "
        "`<prefix>chunks_<n>` per store. Two deployments sharing a database need two prefixes.",
    )
    hnsw_min_chunks: int = Field(
        default=10_000, ge=0,
        description="A store gets its HNSW index once it holds this many chunks, built in one go, ~10 times "
        "faster than growing it chunk by chunk (after that, each new chunk costs ~5-10 ms of HNSW insertion "
        "at 384-d on 2 cores); smaller stores are searched exactly (~10 ms at 10,000 x 384). Building takes "
        "~2.5 KB of the server's maintenance_work_mem per 384-d chunk (the default 64 MB holds ~25,000); "
        "past that pgvector builds on disk, many times slower. 0: every store is indexed from the start.",
    )
    hnsw_m: int = Field(default=16, ge=2, le=100, description="HNSW: neighbours per node (pgvector's `m`).")
    hnsw_ef_construction: int = Field(
        default=64, ge=4, le=1000, description="HNSW: candidate list size while building; at least 2 * hnsw_m.",
    )
    hnsw_ef_search: int = Field(
        default=100, ge=1, le=1000,
        description="HNSW: candidate list size per query (recall vs time); raised to k when k is larger.",
    )
    text_search_config: str = Field(
        default="english", pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="PostgreSQL text search configuration of the keyword index (english stems words; "
        "simple only lowercases). Each store keeps the one it was created with.",
    )

    @model_validator(mode="after")
    def _ef_construction_covers_m(self) -> PgvectorConfig:
        if self.hnsw_ef_construction < 2 * self.hnsw_m:  # pgvector refuses to build such an index
            raise ValueError(f"hnsw_ef_construction ({self.hnsw_ef_construction}) must be at least "
                             f"2 * hnsw_m ({2 * self.hnsw_m})")
        return self

    @classmethod
    def sample_config(cls) -> dict[str, Any]:
        return {
            "host": "${env.PGVECTOR_HOST:=127.0.0.1}",
            "port": "${env.PGVECTOR_PORT:=5432}",
            "db": "${env.PGVECTOR_DB:=polystack}",
            "user": "${env.PGVECTOR_USER:=postgres}",
            "password": "${env.PGVECTOR_PASSWORD:=}",
        }
