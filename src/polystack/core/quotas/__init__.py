"""Quotas: request and token limits per principal, key, team and model, counted in a moving window.

- `config.py` types `server.quota` (Llama Stack's `anonymous_max_requests` / `authenticated_max_requests` /
  `period`, plus `rules`).
- `counters.py` counts: Redis through the `limits` library (shared by every replica), or a SQL table
  (a single server without Redis; `limits` has no SQL backend, so the moving window is a SUM over rows).
- `enforcer.py` decides which limits apply to a call and turns a refusal into a 429 with OpenAI's headers.
- `middleware.py` applies Llama Stack's per-period request limit to every request and writes the
  `x-ratelimit-*` headers; `hook.py` is the inference hook that applies the rules (requests at `before`,
  tokens counted from usage at `after`, streams included) and the virtual keys' models, quota and budget.
"""
