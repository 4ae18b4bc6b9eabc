"""The tables of remote::pgvector: a catalogue of stores, and per store one table with its HNSW and GIN indexes.

A table per store, not one shared table with a store_id column: pgvector's HNSW index filters
*after* its graph walk, so an index shared by every store would answer a small store's query with
other stores' neighbours and come back short; a store of its own also gets its own vector(dim)
(an HNSW index needs one dimension) and planner statistics, and drops in one DROP TABLE.
Table numbers come from an identity column and are never reused, so a name always means one store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg.exceptions as pg

from polystack.apis.errors import ProviderError
from polystack.providers.remote.vector_io.pgvector.config import PgvectorConfig

MIN_PGVECTOR = (0, 5, 0)  # HNSW arrived in pgvector 0.5.0
HNSW_MAX_DIMENSIONS = 2000  # pgvector's limit for an HNSW index on `vector`; larger stores are searched exactly
MAX_DIMENSIONS = 16000  # pgvector's limit for the `vector` type itself


@dataclass(frozen=True)
class StoreRow:
    """A store as the catalogue has it; the counters feed BM25 (chunk count and average length)."""

    num: int
    dimension: int
    chunk_count: int
    total_length: int
    hnsw: bool
    text_search_config: str

    @property
    def average_length(self) -> float:
        return self.total_length / self.chunk_count if self.chunk_count else 0.0


class Schema:
    """Names and DDL of one provider's tables (all names come from the validated table prefix)."""

    def __init__(self, config: PgvectorConfig) -> None:
        self._config = config
        self.catalogue = f'"{config.table_prefix}stores"'

    def table(self, num: int) -> str:
        return f'"{self._config.table_prefix}chunks_{num}"'

    async def prepare(self, conn: Any, address: str) -> str:
        """Enable pgvector if needed and create the catalogue if missing; returns the schema of pgvector's types.

        Under a lock: replicas starting together would race on CREATE EXTENSION's and CREATE TABLE IF NOT
        EXISTS's catalog rows.
        """
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('polystack remote::pgvector'))")
            version = await self._enable_pgvector(conn, address)
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self.catalogue} ("
                "num BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE, store_id TEXT PRIMARY KEY, "
                "dimension INTEGER NOT NULL, chunk_count BIGINT NOT NULL DEFAULT 0, "
                "total_length BIGINT NOT NULL DEFAULT 0, hnsw BOOLEAN NOT NULL DEFAULT FALSE, "
                "text_search_config TEXT NOT NULL)")
            if not await conn.fetchval("SELECT count(*) FROM pg_ts_config WHERE cfgname = $1",
                                       self._config.text_search_config):
                raise ProviderError("pgvector", f"{address} has no text search configuration "
                                    f"'{self._config.text_search_config}' (psql's \\dF lists them)")
        if _version(version) < MIN_PGVECTOR:
            raise ProviderError("pgvector", f"pgvector {version} in {address} has no HNSW index: 0.5.0 or later "
                                "is needed (upgrade the package, then `ALTER EXTENSION vector UPDATE`)")
        schema: str = await conn.fetchval("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                                          "ON n.oid = e.extnamespace WHERE e.extname = 'vector'")
        return schema

    async def _enable_pgvector(self, conn: Any, address: str) -> str:
        """The installed version, after CREATE EXTENSION if it was missing."""
        version: str | None = await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        if version is not None:
            return version
        major = int(await conn.fetchval("SHOW server_version_num")) // 10000  # before a failure aborts the transaction
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except (pg.FeatureNotSupportedError, pg.UndefinedFileError) as exc:
            raise ProviderError("pgvector", _not_installed(major, address)) from exc
        except pg.InsufficientPrivilegeError as exc:
            raise ProviderError("pgvector", f"the role '{self._config.user}' may not create the pgvector extension "
                                f"in {address}: have an administrator run `CREATE EXTENSION vector` in database "
                                f"'{self._config.db}' once") from exc
        installed: str = await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        return installed

    async def create_store_table(self, conn: Any, num: int, dimension: int, text_search_config: str) -> None:
        """The chunk table: the tsvector column is generated from the content, so it can never lag behind it."""
        table, name = self.table(num), self._index_name(num)
        await conn.execute(
            f"CREATE TABLE {table} (chunk_id TEXT PRIMARY KEY, file_id TEXT, filename TEXT, content TEXT NOT NULL, "
            f"attributes JSONB NOT NULL, metadata JSONB NOT NULL, embedding vector({dimension}) NOT NULL, "
            f"content_tsv tsvector GENERATED ALWAYS AS (to_tsvector('{text_search_config}'::regconfig, content)) "
            "STORED)")
        # pgvector stores vectors out of line (EXTERNAL) once a row passes 2 kB, as a 384-d chunk does, and
        # an exact scan then fetches each from the TOAST table: 4 times slower. MAIN keeps them in the row.
        await conn.execute(f"ALTER TABLE {table} ALTER COLUMN embedding SET STORAGE MAIN")
        await conn.execute(f'CREATE INDEX "{name}_file" ON {table} (file_id)')
        await conn.execute(f'CREATE INDEX "{name}_tsv" ON {table} USING gin (content_tsv) WITH (fastupdate = off)')

    def wants_hnsw(self, store: StoreRow, chunk_count: int) -> bool:
        return not store.hnsw and store.dimension <= HNSW_MAX_DIMENSIONS and chunk_count >= self._config.hnsw_min_chunks

    async def build_hnsw(self, conn: Any, num: int) -> None:
        """Build the store's HNSW index from its rows at once; writes wait (reads go on) until it commits."""
        await conn.execute(
            f'CREATE INDEX IF NOT EXISTS "{self._index_name(num)}_hnsw" ON {self.table(num)} '
            f"USING hnsw (embedding vector_cosine_ops) "
            f"WITH (m = {self._config.hnsw_m}, ef_construction = {self._config.hnsw_ef_construction})")
        await conn.execute(f"UPDATE {self.catalogue} SET hnsw = TRUE WHERE num = $1", num)

    def _index_name(self, num: int) -> str:
        return f"{self._config.table_prefix}chunks_{num}"


def _not_installed(major: int, address: str) -> str:
    return (f"the pgvector extension is not installed in the PostgreSQL {major} server at {address}. Install it "
            f"on that server (Debian/Ubuntu with the PGDG repository: apt install postgresql-{major}-pgvector; "
            "or build pgvector from source with `make && make install` against that server's pg_config; "
            "or run an image that bundles it, such as pgvector/pgvector), then restart Polystack")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())
