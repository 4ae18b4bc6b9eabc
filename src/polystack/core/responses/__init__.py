"""The Responses engine: one async generator of StreamEvents per response, its server-side tools and its store.

- `engine.ResponsesEngine.run(request)` yields a response's events (OpenAI's sequence) and stores the response
  (store=true) before its last event; the non-streaming path consumes the same generator (`service.py`).
- `tools.ServerTool` is the seam for tools the server runs itself (file_search here; web_search and mcp add
  a module each and register it in `ResponsesEngine.server_tools`, without changing the loop).
- `store.ResponsesStore` keeps responses, their input items and the chat messages to continue from, in an
  owned SQL table (a response of another caller is invisible: 404).
"""
