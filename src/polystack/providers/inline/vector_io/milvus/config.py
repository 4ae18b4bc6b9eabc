"""Config of inline::milvus: Milvus Lite (pure-Python, in-process) through pymilvus, and a keyword index."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_PERSIST_DIR = "~/.polystack/vector_io/milvus"


class MilvusConfig(BaseModel):
    """Milvus Lite's data in `<persist_dir>/milvus.db` (a folder), the FTS5 keyword index in `keywords.db` beside it.

    pymilvus starts Milvus Lite inside this process (a gRPC server on a loopback port) and talks to it
    as to a Milvus server. Each store is a collection with an exact (FLAT) cosine index.
    """

    model_config = ConfigDict(extra="forbid")

    persist_dir: str = Field(
        default=DEFAULT_PERSIST_DIR,
        description="Folder of the Milvus Lite data and the keyword index (created if missing). Milvus Lite "
        "locks it: one server process per folder.",
    )
    collection_prefix: str = Field(
        default="polystack_", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,40}$",
        description="Collections of vector stores are named <prefix><store id>; others are left alone.",
    )

    @classmethod
    def sample_config(cls) -> dict[str, Any]:
        return {"persist_dir": "${env.POLYSTACK_STORE_DIR:=~/.polystack/distributions/starter}/milvus"}
