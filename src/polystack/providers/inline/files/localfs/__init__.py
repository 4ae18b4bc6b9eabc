"""inline::localfs: uploaded files kept in a local folder, their metadata in a SQL store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from polystack.providers.inline.files.localfs.config import LocalfsFilesConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: LocalfsFilesConfig, deps: ProviderDeps) -> Any:
    from polystack.providers.inline.files.localfs.byte_store import DiskByteStore
    from polystack.providers.utils.files.metadata import open_files_metadata
    from polystack.providers.utils.files.stored_files import StoredFiles

    root = Path(config.storage_dir).expanduser()  # noqa: ASYNC240 - expanduser reads $HOME, not the disk
    blobs = DiskByteStore(root)
    metadata, owned = await open_files_metadata(config.metadata_store, getattr(deps, "storage", None),
                                                root / "files_metadata.db")
    return await StoredFiles(config, blobs, metadata, owned).start()
