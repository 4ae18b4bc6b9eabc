"""Inspect API: the served routes, health and version."""
