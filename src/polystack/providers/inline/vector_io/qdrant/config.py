"""Config of inline::qdrant: Qdrant's embedded local mode (qdrant-client, no server) and a keyword index."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_PERSIST_DIR = "~/.polystack/vector_io/qdrant"


class QdrantConfig(BaseModel):
    """Qdrant's local storage in `<persist_dir>/qdrant`, the FTS5 keyword index in `<persist_dir>/keywords.db`.

    Local mode is qdrant-client's pure-Python engine: exact search, fine for development and small
    stores (10,000 x 384 on 2 cores: ~40 ms a query, ~300 ms with a filter, which it checks point by
    point in Python, ~850 inserts/s, one SQLite commit per point). For more, run a Qdrant server.
    """

    model_config = ConfigDict(extra="forbid")

    persist_dir: str = Field(
        default=DEFAULT_PERSIST_DIR,
        description="Folder of the Qdrant storage and the keyword index (created if missing). Qdrant locks it: "
        "one server process per folder.",
    )
    collection_prefix: str = Field(
        default="polystack_", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,40}$",
        description="Collections of vector stores are named <prefix><store id>; others are left alone.",
    )

    @classmethod
    def sample_config(cls) -> dict[str, Any]:
        return {"persist_dir": "${env.POLYSTACK_STORE_DIR:=~/.polystack/distributions/starter}/qdrant"}
