"""The other APIs a response reads: conversations (context and history) and prompts (rendered instructions).

Coded against the two small interfaces below, so the Conversations and Prompts APIs plug in by name
(`impls[Api.conversations]`, `impls[Api.prompts]`); a request naming one that the server does not serve is a
400 saying so.
"""

from __future__ import annotations

import re
from typing import Any, Protocol, runtime_checkable

from polystack.apis.errors import InvalidRequestError
from polystack.apis.responses.types import PromptReference


@runtime_checkable
class ConversationItems(Protocol):
    async def context_items(self, conversation_id: str, *, writable: bool = False) -> list[dict[str, Any]]:
        """Every item of the conversation, oldest first (NotFoundError if unknown or not the caller's;
        with `writable`, AccessDeniedError if the caller may read it but not add to it)."""
        ...

    async def add_items(self, conversation_id: str, items: list[dict[str, Any]]) -> Any: ...


class StoredPrompt(Protocol):
    prompt: str
    version: int
    variables: list[str]


@runtime_checkable
class PromptSource(Protocol):
    async def get_prompt(self, prompt_id: str, version: int | None) -> StoredPrompt: ...


_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def render_prompt(prompt: StoredPrompt, given: dict[str, str]) -> str:
    """The prompt's text with `{{ name }}` replaced; a variable missing, or not declared, is a 400 naming it."""
    declared = set(prompt.variables)
    for name in given:
        if name not in declared:
            raise InvalidRequestError(f"the prompt declares no variable '{name}'", param=f"prompt.variables.{name}")
    for name in sorted(declared | set(_VARIABLE.findall(prompt.prompt))):
        if name not in given:
            raise InvalidRequestError(f"the prompt needs the variable '{name}'", param=f"prompt.variables.{name}")
    return _VARIABLE.sub(lambda match: given[match.group(1)], prompt.prompt)


def prompt_version(reference: PromptReference) -> int | None:
    if reference.version is None:
        return None
    try:
        return int(reference.version)
    except ValueError:
        raise InvalidRequestError(f"prompt version '{reference.version}' is not a number",
                                  param="prompt.version") from None
