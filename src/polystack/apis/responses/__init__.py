"""The Responses API (OpenAI's): items, the response object, streaming events, routes."""
