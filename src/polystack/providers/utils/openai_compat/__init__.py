"""The shared client of every OpenAI-compatible remote inference provider."""
