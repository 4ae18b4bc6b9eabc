"""The jobs table: job records, and the compare-and-swap writes that move a job's lease between replicas."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from polystack.core.storage.sql.api import Column, ColumnType, Query, SQLStore, TableSchema

TABLE = "polystack_jobs"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
JOBS = TableSchema(
    name=TABLE,
    columns={
        "id": Column(ColumnType.STRING, primary_key=True),
        "kind": Column(ColumnType.STRING, nullable=False, index=True),
        "key": Column(ColumnType.STRING, index=True),  # what the job works on, e.g. "vs_1:file_1"
        "status": Column(ColumnType.STRING, nullable=False, index=True),
        "payload": Column(ColumnType.JSON),
        "progress": Column(ColumnType.JSON),
        "result": Column(ColumnType.JSON),
        "error": Column(ColumnType.TEXT),
        "attempts": Column(ColumnType.INTEGER, nullable=False),
        "cancel_requested": Column(ColumnType.BOOLEAN, nullable=False),
        "lease_owner": Column(ColumnType.STRING),
        "lease_expires_at": Column(ColumnType.FLOAT),  # epoch seconds: replicas' clocks are assumed in sync
        "lease_version": Column(ColumnType.INTEGER, nullable=False),
        "created_at": Column(ColumnType.FLOAT, nullable=False, index=True),
        "updated_at": Column(ColumnType.FLOAT, nullable=False),
    },
)


@dataclass
class Job:
    """One job as stored."""

    id: str
    kind: str
    status: JobStatus
    payload: dict[str, Any]
    key: str | None = None
    progress: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: str | None = None
    attempts: int = 0
    cancel_requested: bool = False
    lease_owner: str | None = None
    lease_expires_at: float | None = None
    lease_version: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Job:
        return cls(**{**row, "status": JobStatus(row["status"]), "payload": row["payload"] or {},
                      "progress": row["progress"] or {}, "cancel_requested": bool(row["cancel_requested"])})

    @property
    def done(self) -> bool:
        return self.status not in ACTIVE

    def claimable(self, now: float) -> bool:
        """Queued, or running under a lease nobody renewed in time (its replica died)."""
        if self.status == JobStatus.QUEUED:
            return True
        return self.status == JobStatus.RUNNING and (self.lease_expires_at or 0) < now


class JobRecords:
    """Reads and writes of the jobs table; every write that changes hands checks `lease_version`."""

    def __init__(self, sql: SQLStore) -> None:
        self.sql = sql

    async def migrate(self) -> None:
        async def create_jobs(store: SQLStore) -> None:
            await store.create_table(JOBS)

        await self.sql.create_table(JOBS)  # declares the table in this store object (idempotent)
        await self.sql.migrate("jobs", [create_jobs])

    async def create(self, kind: str, payload: dict[str, Any], *, key: str | None = None,
                     job_id: str | None = None) -> Job:
        """A queued job; with a `job_id` already taken, the existing job (so replicas can submit idempotently)."""
        now = time.time()
        job = Job(id=job_id or f"job_{uuid.uuid4().hex}", kind=kind, key=key, status=JobStatus.QUEUED,
                  payload=payload, created_at=now, updated_at=now)
        row = {name: getattr(job, name) for name in JOBS.columns}
        await self.sql.insert(TABLE, {**row, "status": job.status.value}, ignore_existing=job_id is not None)
        return await self.get(job.id) or job

    async def get(self, job_id: str) -> Job | None:
        row = await self.sql.fetch_one(TABLE, {"id": job_id})
        return Job.from_row(row) if row is not None else None

    async def by_key(self, key: str, *, active_only: bool = True) -> list[Job]:
        rows = (await self.sql.fetch_all(TABLE, Query(where={"key": key}, order_by=[("created_at", "asc")]))).data
        jobs = [Job.from_row(row) for row in rows]
        return [job for job in jobs if not job.done] if active_only else jobs

    async def candidates(self, kinds: list[str], now: float, limit: int) -> list[Job]:
        """Jobs this replica could claim, oldest first."""
        found: list[Job] = []
        for status in ACTIVE:
            rows = (await self.sql.fetch_all(TABLE, Query(where={"status": status.value},
                                                          order_by=[("created_at", "asc")]))).data
            found += [job for row in rows if (job := Job.from_row(row)).kind in kinds and job.claimable(now)]
        return sorted(found, key=lambda job: job.created_at)[:limit]

    async def swap(self, job: Job, **changes: Any) -> Job | None:
        """Apply `changes` if nobody changed hands since `job` was read; the new job, or None if we lost."""
        version = job.lease_version + 1
        values = {**changes, "lease_version": version, "updated_at": time.time()}
        if isinstance(values.get("status"), JobStatus):
            values["status"] = values["status"].value
        won = await self.sql.update(TABLE, values, {"id": job.id, "lease_version": job.lease_version})
        if not won:
            return None
        fresh = Job.from_row({**{name: getattr(job, name) for name in JOBS.columns}, **values})
        return fresh

    async def heartbeat(self, job: Job, lease_seconds: float) -> Job | None:
        """Extend our lease (same `lease_version`: heartbeats do not change hands); the job as stored now,
        with its cancel flag, or None when the lease is no longer ours."""
        kept = await self.sql.update(TABLE, {"lease_expires_at": time.time() + lease_seconds},
                                     {"id": job.id, "lease_version": job.lease_version,
                                      "lease_owner": job.lease_owner, "status": JobStatus.RUNNING.value})
        if not kept:
            return None
        return await self.get(job.id)

    async def request_cancel(self, job_id: str) -> None:
        """Set the persisted flag the running replica reads at its next heartbeat (no lease change)."""
        await self.sql.update(TABLE, {"cancel_requested": True, "updated_at": time.time()}, {"id": job_id})

    async def save_progress(self, job: Job, progress: dict[str, Any]) -> bool:
        """Whether the progress was saved: only while `job`'s lease is still ours."""
        return bool(await self.sql.update(TABLE, {"progress": progress, "updated_at": time.time()},
                                          {"id": job.id, "lease_version": job.lease_version}))
