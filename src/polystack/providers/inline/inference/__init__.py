"""Inline providers of the inference API."""
