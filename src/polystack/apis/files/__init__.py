"""Files API: upload, list, read and delete files (OpenAI's /v1/files)."""
