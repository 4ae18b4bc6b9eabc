"""One job runner for background work: durable job records, leases with heartbeats, cancel, resume.

How it fits together (read this first):

- `records.JobRecords` keeps one row per job in the SQL store (the `jobs` table): its kind, payload,
  status (queued, running, succeeded, failed, cancelled), progress, result or error, and its lease
  (`lease_owner`, `lease_expires_at`, `lease_version`). Every change of hands is a compare-and-swap on
  `lease_version`: an UPDATE ... WHERE id = :id AND lease_version = :seen whose row count says who won.
  That is correct with many replicas on PostgreSQL and with one process on SQLite, and needs nothing
  beyond the SQLStore API.
- `runner.JobRunner` claims queued jobs, and running jobs whose lease expired (their replica died), up
  to `concurrency` at a time; it heartbeats each job it runs, which extends the lease and reads the
  persisted cancel flag. A replica that loses a lease, or sees the flag, cancels its task at once.
- A background API plugs in with one call and touches nothing here:

      runner.register("vector_store.file_ingestion", handler)   # async def handler(ctx: JobContext) -> dict
      job = await runner.submit("vector_store.file_ingestion", {"file_id": ...}, key="vs_1:file_1")
      await runner.cancel(job.id)                                # from any replica

  The handler reads `ctx.job.payload`, reports `await ctx.progress({...})`, calls `ctx.checkpoint()`
  between steps (it raises when the job was cancelled or its lease lost), and returns its result.
  A handler must be safe to re-run: a resumed job starts again from its payload and its saved progress.
- `on_progress` (a constructor argument) is called with the job after every progress or status change:
  the place to publish a job's events to a stream.
"""
