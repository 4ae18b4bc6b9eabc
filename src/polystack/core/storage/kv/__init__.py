"""Key-value stores: one async interface, backends for memory, SQLite, PostgreSQL and Redis."""
