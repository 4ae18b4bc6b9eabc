"""Vector stores: their records, background ingestion of files, and search (incl. hybrid fusion)."""
