"""Conversations kept by the stack: conversation and item rows in the SQL store (see store.py)."""
