"""Shared parts of the SQLite-backed vector index providers: chunk store, FTS5 keyword search, filters, search."""
