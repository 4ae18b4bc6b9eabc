"""The Responses engine: one async generator of StreamEvents per response, its server-side tools and its store.

- `engine.ResponsesEngine.run(request)` yields a response's events (OpenAI's sequence) and stores the response
  (store=true) before its last event; the non-streaming path consumes the same generator (`service.py`).
  `start(request, response_id=None)` does the checks and context gathering alone (a bad request raises here)
  and returns a `run.ResponseRun` (the loop of model calls and tools), whose `events()` is that generator:
  set `run.stream_upstream` to stream the model's tokens whoever watches, and `run.replace_stored` when a
  row of the response was saved before (`ResponsesStore.save_again`, e.g. `queued`), so the finished
  response replaces it.
- `tools.ServerTool` is the seam for tools the server runs itself, each a module registered in
  `ResponsesEngine.server_tools` (serving/responses.py): file_search.py, web_search.py, mcp.py (a
  `SessionTool`: per-response listing and approvals, mcp_config.py and mcp_approvals.py); the previous
  responses a tool looks back into come from chain.py.
- `store.ResponsesStore` keeps responses, their input items and the chat messages to continue from, in an
  owned SQL table (a response of another caller is invisible: 404).
"""
