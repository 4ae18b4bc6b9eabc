"""Config of inline::localfs: files as plain files in a folder, metadata in a SQL store."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from polystack.providers.utils.files.config import FilesProviderConfig

DEFAULT_STORAGE_DIR = "~/.polystack/files"


class LocalfsFilesConfig(FilesProviderConfig):
    """Without `metadata_store`, the metadata goes to `<storage_dir>/files_metadata.db` (SQLite)."""

    storage_dir: str = Field(
        default=DEFAULT_STORAGE_DIR,
        description="Folder of the uploaded bytes (created if missing). Distributions put it under "
        "${env.POLYSTACK_STORE_DIR}; several replicas need a shared folder and a shared metadata_store.",
    )

    @classmethod
    def sample_config(cls) -> dict[str, Any]:
        return {
            "storage_dir": "${env.POLYSTACK_STORE_DIR:=~/.polystack/distributions/starter}/files",
            "metadata_store": {"backend": "sql_default", "table_name": "files"},
        }
