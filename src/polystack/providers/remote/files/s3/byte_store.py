"""S3ByteStore: each file one object; boto3 (synchronous) always runs in a worker thread, never on the loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any, TypeVar

from polystack.providers.remote.files.s3.config import S3FilesConfig
from polystack.providers.utils.files.byte_store import ByteStoreError

READ_CHUNK_BYTES = 1024 * 1024
T = TypeVar("T")


class S3ByteStore:
    """Objects `key_prefix + key` in one bucket; small files in one PUT, larger ones as a multipart upload."""

    def __init__(self, client: Any, config: S3FilesConfig) -> None:
        self.client = client
        self.bucket = config.bucket
        self.prefix = config.key_prefix
        self.part_size = config.part_size_bytes

    @classmethod
    async def connect(cls, config: S3FilesConfig) -> S3ByteStore:
        import boto3
        from botocore.config import Config

        secret = config.secret_access_key.get_secret_value() if config.secret_access_key else None

        def make_client() -> Any:
            return boto3.session.Session().client(
                "s3", region_name=config.region, endpoint_url=config.endpoint_url or None,
                aws_access_key_id=config.access_key_id or None, aws_secret_access_key=secret or None,
                config=Config(retries={"max_attempts": 3, "mode": "standard"}))

        store = cls(await asyncio.to_thread(make_client), config)
        try:
            await store._call(store._ensure_bucket, config.create_bucket_if_missing, config.region)
        except BaseException:
            await store.close()
            raise
        return store

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        pending: list[bytes] = []  # at most one part's worth of chunks in memory
        size = 0
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            async for chunk in chunks:
                pending.append(chunk)
                size += len(chunk)
                if size >= self.part_size:
                    if upload_id is None:
                        upload_id = (await self._call(self.client.create_multipart_upload, Bucket=self.bucket,
                                                      Key=self._key(key)))["UploadId"]
                    data, pending, size = b"".join(pending), [], 0
                    parts.append(await self._upload_part(key, upload_id, len(parts) + 1, data))
                    del data
            if upload_id is None:
                await self._call(self.client.put_object, Bucket=self.bucket, Key=self._key(key),
                                 Body=b"".join(pending))
                return
            if pending:
                parts.append(await self._upload_part(key, upload_id, len(parts) + 1, b"".join(pending)))
            await self._call(self.client.complete_multipart_upload, Bucket=self.bucket, Key=self._key(key),
                             UploadId=upload_id, MultipartUpload={"Parts": parts})
        except BaseException:
            if upload_id is not None:  # S3 keeps (and bills) the parts of an upload nobody aborts
                await asyncio.shield(self._abort(key, upload_id))
            raise

    async def read(self, key: str) -> AsyncIterator[bytes]:
        from botocore.exceptions import ClientError

        try:
            response = await asyncio.to_thread(self.client.get_object, Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(self._key(key)) from None
            raise ByteStoreError(_describe(exc, self.bucket)) from None
        return self._body_chunks(response["Body"])

    async def delete(self, key: str) -> None:
        await self._call(self.client.delete_object, Bucket=self.bucket, Key=self._key(key))

    async def close(self) -> None:
        await asyncio.to_thread(self.client.close)

    def _key(self, key: str) -> str:
        return f"{self.prefix}{key}"

    async def _upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> dict[str, Any]:
        response = await self._call(self.client.upload_part, Bucket=self.bucket, Key=self._key(key),
                                    UploadId=upload_id, PartNumber=number, Body=data)
        return {"PartNumber": number, "ETag": response["ETag"]}

    async def _abort(self, key: str, upload_id: str) -> None:
        try:
            await self._call(self.client.abort_multipart_upload, Bucket=self.bucket, Key=self._key(key),
                             UploadId=upload_id)
        except ByteStoreError:
            pass  # the bucket's lifecycle rules (or a later sweep of incomplete uploads) must then clean up

    async def _body_chunks(self, body: Any) -> AsyncIterator[bytes]:
        try:
            while chunk := await self._call(body.read, READ_CHUNK_BYTES):
                yield chunk
        finally:
            await asyncio.to_thread(body.close)

    def _ensure_bucket(self, create: bool, region: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket") or not create:
                raise
        location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        self.client.create_bucket(Bucket=self.bucket, **location)

    async def _call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return await asyncio.to_thread(function, *args, **kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise ByteStoreError(_describe(exc, self.bucket)) from None


def _describe(exc: Exception, bucket: str) -> str:
    """What failed, without request ids or credentials."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        return f"S3 bucket '{bucket}': {error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    return f"S3 bucket '{bucket}': {exc}"
