"""Inline providers."""
