"""Storage: key-value stores and SQL stores over named backends (SQLite, PostgreSQL, Redis, memory)."""
