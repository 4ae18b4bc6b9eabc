"""Pieces shared by providers: the HTTP client factory and the OpenAI-compatible client."""
