"""remote::s3: uploaded files kept as objects in an S3 bucket, their metadata in a SQL store."""

from __future__ import annotations

from typing import Any

from polystack.providers.remote.files.s3.config import S3FilesConfig


async def create(config: S3FilesConfig, deps: Any) -> Any:
    from polystack.providers.remote.files.s3.byte_store import S3ByteStore
    from polystack.providers.utils.files.metadata import open_files_metadata
    from polystack.providers.utils.files.stored_files import StoredFiles

    metadata, owned = await open_files_metadata(config.metadata_store, getattr(deps, "storage", None), None)
    blobs = await S3ByteStore.connect(config)
    return await StoredFiles(config, blobs, metadata, owned).start()
