"""File ingestion as jobs on the job runner: one job per attached file, run by exactly one replica."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from typing import Any

from polystack.apis.errors import NotFoundError
from polystack.apis.vector_io.index import VectorIndex
from polystack.apis.vector_io.types import VectorStoreFile
from polystack.core.jobs.records import Job
from polystack.core.jobs.runner import JobContext, JobRunner, JobStopped, StopReason
from polystack.core.vector_stores.ingestion import Ingestor
from polystack.core.vector_stores.records import VectorStoreRecords

logger = logging.getLogger("polystack.vector_io")

KIND = "vector_store.file_ingestion"


def job_key(store_id: str, file_id: str) -> str:
    return f"{store_id}:{file_id}"


class IngestionJobs:
    """Submits, cancels and runs ingestion jobs. The vector store file's status stays the one the OpenAI API
    shows (in_progress, completed, failed, cancelled); the job's record says who runs it and how far it got."""

    def __init__(self, runner: JobRunner, records: VectorStoreRecords, ingestor: Ingestor,
                 index_of: Callable[[str | None], VectorIndex]) -> None:
        self.runner = runner
        self.records = records
        self.ingestor = ingestor
        self.index_of = index_of
        runner.register(KIND, self.run)

    async def submit(self, store_id: str, file_id: str, batch_id: str | None) -> Job:
        """Ingest the file (already recorded in progress); a re-attach replaces an ingestion still running."""
        key = job_key(store_id, file_id)
        for earlier in await self.runner.records.by_key(key):
            # wait for it to stop (on another replica: at its next heartbeat), or it would remove the
            # chunks the new job writes when it discards its own; a dead replica's job is never run again
            await self.runner.cancel(earlier.id)
            with contextlib.suppress(TimeoutError):
                await self.runner.wait(earlier.id, timeout=self.runner.lease_seconds)
        return await self.runner.submit(KIND, {"vector_store_id": store_id, "file_id": file_id,
                                               "batch_id": batch_id}, key=key)

    async def cancel(self, store_id: str, file_id: str) -> None:
        """Stop the file's ingestion wherever it runs (here at once, elsewhere at that replica's next heartbeat)."""
        await self.runner.cancel_key(job_key(store_id, file_id))

    async def adopt_orphans(self) -> None:
        """Files left in progress with no job (attached before ingestion ran on jobs) get one. Its id is
        derived from the file, so replicas starting together queue one job between them, not one each."""
        for batch_id, record in await self.records.files_in_progress():
            key = job_key(record.vector_store_id, record.id)
            if await self.records_have_job(key):
                continue
            digest = hashlib.blake2b(f"{key}:{record.created_at}".encode(), digest_size=12).hexdigest()
            await self.runner.submit(KIND, {"vector_store_id": record.vector_store_id, "file_id": record.id,
                                            "batch_id": batch_id}, key=key, job_id=f"job_adopted_{digest}")

    async def records_have_job(self, key: str) -> bool:
        return bool(await self.runner.records.by_key(key, active_only=False))

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        """The job's handler. Safe to re-run: indexing a file first removes whatever chunks it had."""
        payload = ctx.job.payload
        store_id, file_id, batch_id = payload["vector_store_id"], payload["file_id"], payload.get("batch_id")
        try:
            store = await self.records.store(store_id)
            record = await self.records.file(store_id, file_id)
        except NotFoundError:
            return {"skipped": "the vector store or the file was deleted"}
        if record.status != "in_progress":
            return {"skipped": f"the file is {record.status}"}
        index = self.index_of(store.provider_id)
        batches = 0

        async def still_wanted() -> bool:
            """Whether to go on: the job still runs here, and the file is still attached and in progress
            (another replica may have detached or cancelled it, which only its row says)."""
            nonlocal batches
            try:
                await ctx.progress({"file_id": file_id, "chunk_batches_done": batches})
            except JobStopped:
                return False
            batches += 1
            return await self._in_progress(store_id, file_id)

        def superseded() -> bool:
            return ctx.stop_reason == StopReason.LEASE_LOST

        try:
            done = await self.ingestor.ingest(store, record, index, still_wanted, superseded)
        except asyncio.CancelledError:
            if ctx.stop_reason == StopReason.CANCELLED:
                await self._mark_cancelled(record, batch_id)
            raise
        if ctx.stop_reason == StopReason.CANCELLED:
            await self._mark_cancelled(record, batch_id)
        ctx.checkpoint()  # stopped between batches: the runner records why
        if done is None or not await self._in_progress(store_id, file_id):
            if done is not None:  # detached or cancelled during the last batch: do not bring it back
                await index.delete_chunks(store_id, file_id=file_id)
                await self.records.delete_chunk_texts(store_id, file_id)
            await ctx.stop_if_cancelled()  # a cancel sets the job's flag before the file's status
            return {"file_status": "abandoned"}
        await self.records.upsert_file(done, batch_id)
        return {"file_status": done.status, "usage_bytes": done.usage_bytes}

    async def _in_progress(self, store_id: str, file_id: str) -> bool:
        try:
            row = await self.records.file_row(store_id, file_id)
        except NotFoundError:
            return False
        return bool(row["status"] == "in_progress")

    async def _mark_cancelled(self, record: VectorStoreFile, batch_id: str | None) -> None:
        if await self._in_progress(record.vector_store_id, record.id):
            await self.records.upsert_file(record.model_copy(update={"status": "cancelled"}), batch_id)
