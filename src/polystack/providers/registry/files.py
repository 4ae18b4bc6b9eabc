"""Files provider specs."""

from __future__ import annotations

from polystack.apis.datatypes import Api
from polystack.providers.spec import ProviderSpec

_INLINE = "polystack.providers.inline.files"
_REMOTE = "polystack.providers.remote.files"


def available_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            api=Api.files,
            provider_type="inline::localfs",
            module=f"{_INLINE}.localfs",
            config_class=f"{_INLINE}.localfs.config.LocalfsFilesConfig",
            description="Uploaded files in a local folder, metadata in a SQL store (SQLite by default).",
        ),
        ProviderSpec(
            api=Api.files,
            provider_type="remote::s3",
            module=f"{_REMOTE}.s3",
            config_class=f"{_REMOTE}.s3.config.S3FilesConfig",
            description="Uploaded files in an S3 or S3-compatible bucket, metadata in a SQL store.",
            pip_packages=("boto3==1.44.5",),
            extra="s3",
        ),
    ]
