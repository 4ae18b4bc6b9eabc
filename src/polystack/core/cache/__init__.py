"""The exact-match response cache: chat completions, completions and embeddings answered again without
calling the provider when the same caller sends the same request.

- Opt-in (`response_cache.enabled`). The key (key.py) is the resolved model, the kind of call and every
  request field that can change the answer (messages or input, temperature, seed, n, tools, ...); only
  `stream`, `stream_options`, `store`, `metadata` and `user` are left out. It is scoped to the caller's
  principal unless `shared: true`.
- High temperatures, `n > 1` and requests without `seed` are cached too, as OpenAI-compatible gateways do:
  the cache is opt-in, and a caller who wants a fresh sample opts out per request with the header
  `Cache-Control: no-cache` (no lookup; the answer is still stored) or `no-store` (neither), or the body
  field `"cache": false` (neither; the field is removed before the provider sees the request).
- Stored in memory (store.py: bounded LRU by entries and bytes, TTL) or in a KV backend such as Redis (TTL).
- A streamed chat completion is stored as the completion it amounts to, and a hit is streamed back in
  chunks (stream.py); streamed legacy completions are neither stored nor served (they bypass the cache).
- The response says `x-polystack-cache: hit`, `miss` or `bypass`.
"""
