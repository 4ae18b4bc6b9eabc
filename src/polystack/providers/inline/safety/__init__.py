"""Inline safety providers: shields that run inside the server."""
