"""Stores that keep API objects (stored chat completions, ...) on the storage backends."""
