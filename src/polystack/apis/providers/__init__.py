"""Providers API: which providers run, their (redacted) config and health."""
