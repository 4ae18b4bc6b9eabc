"""Inline providers of the files API."""
