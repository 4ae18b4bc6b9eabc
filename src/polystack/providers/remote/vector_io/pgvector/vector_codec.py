"""pgvector's `vector` type in asyncpg's binary format, so embeddings travel as float32, not as text."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

# vector_send/vector_recv: uint16 dimension, uint16 unused, then big-endian float32 values.
_HEADER = struct.Struct("!HH")


def encode(vector: Any) -> bytes:
    values = np.asarray(vector, dtype=">f4")
    return _HEADER.pack(len(values), 0) + values.tobytes()


def decode(data: bytes) -> np.ndarray:
    dimension, _ = _HEADER.unpack_from(data)
    return np.frombuffer(data, ">f4", dimension, _HEADER.size).astype(np.float32)


async def register(conn: Any, schema: str) -> None:
    """Teach one asyncpg connection the type (pgvector's extension may live in any schema)."""
    await conn.set_type_codec("vector", schema=schema, encoder=encode, decoder=decode, format="binary")
