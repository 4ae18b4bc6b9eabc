"""Named-event streams that outlive their connection: an event log per job, a background producer, replay.

How the pieces fit (a newcomer's map):

- `polystack.apis.events.StreamEvent` is one event: a name (its OpenAI `type`), a payload and a
  `sequence_number`. `polystack.apis.http.respond` writes any async iterator of StreamEvents as named SSE
  events (`event:` + `data:`), and any other iterator as chat completions' `data:` lines: one writer.
- `event_log.EventLog` keeps each job's events in a KV store (memory, SQLite, PostgreSQL or Redis):
  `create`, `append` (numbers the event), `read_after(seq)`, `finish`, and `follow(seq)`, which replays
  what is stored after `seq` and then waits for new events (woken at once in this process, polling for
  a producer on another replica) until the job's stream is finished.
- `background.BackgroundStreams.start(job_id, events)` runs a producer as its own task, writing every
  event to the log, so the work goes on when the client that started it disconnects; a failure becomes a
  final `error` event.
- `replay.stream_from_log(log, job_id, starting_after)` is what a route returns for
  `GET ...?stream=true&starting_after=N`: an unknown job or a bad `starting_after` is a plain 4xx, then
  exactly the events after N, in order, then live ones until the end.

A new API (Responses background mode, agents, batches, eval) needs nothing new here: its job runner calls
`BackgroundStreams.start` (or `EventLog.append`/`finish` itself) and its route returns
`await respond(stream_from_log(...))`.
"""
