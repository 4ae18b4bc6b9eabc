"""SQL stores: one async interface over SQLAlchemy 2 (SQLite via aiosqlite, PostgreSQL via asyncpg)."""
