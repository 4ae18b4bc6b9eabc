"""Config of remote::s3: files as objects in an S3 (or S3-compatible) bucket, metadata in a SQL store."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr

from polystack.core.storage.config import SQLStoreReference
from polystack.providers.utils.files.config import MB, FilesProviderConfig

MIN_PART_BYTES = 5 * MB  # S3's smallest multipart part (all but the last)


class S3FilesConfig(FilesProviderConfig):
    """Credentials default to boto3's chain (environment, ~/.aws, instance role) when left unset."""

    metadata_store: SQLStoreReference = Field(
        description="The SQL store (a sql_* backend of storage.backends) holding the file metadata.")
    bucket: str = Field(min_length=3, max_length=63)
    region: str = Field(default="us-east-1")
    endpoint_url: str | None = Field(default=None, description="For S3-compatible servers (MinIO, moto, R2...).")
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    create_bucket_if_missing: bool = Field(default=False, description="Create the bucket at startup if needed.")
    key_prefix: str = Field(default="files/", description="Prepended to each object key.")
    part_size_bytes: int = Field(
        default=8 * MB, ge=MIN_PART_BYTES,
        description="Files larger than this are uploaded in parts of this size (multipart upload).")

    @classmethod
    def sample_config(cls) -> dict[str, Any]:
        return {
            "bucket": "${env.S3_BUCKET_NAME}",
            "region": "${env.AWS_DEFAULT_REGION:=us-east-1}",
            "endpoint_url": "${env.S3_ENDPOINT_URL:=}",
            "access_key_id": "${env.AWS_ACCESS_KEY_ID:=}",
            "secret_access_key": "${env.AWS_SECRET_ACCESS_KEY:=}",
            "metadata_store": {"backend": "sql_default", "table_name": "s3_files"},
        }
