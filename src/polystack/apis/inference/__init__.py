"""Inference API: chat completions, legacy completions and embeddings (OpenAI wire format)."""
