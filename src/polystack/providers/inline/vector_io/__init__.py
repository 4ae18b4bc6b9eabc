"""Inline providers of the vector-io API."""
