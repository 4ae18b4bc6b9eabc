"""Inline providers of the safety API."""
