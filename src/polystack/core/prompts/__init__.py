"""Versioned prompts served by the stack itself: the SQL-backed store (store.py) and templates (rendering.py).

The Responses engine reads a prompt with `await impls[Api.prompts].get_prompt(prompt_id, version)` and fills
it with `render(prompt, values)`.
"""

from polystack.core.prompts.rendering import render

__all__ = ["render"]
