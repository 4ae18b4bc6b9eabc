"""The prompts contract: create, version, read, list, delete prompts, and pick each one's default version."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from polystack.apis.prompts.types import ListPromptsResponse, Prompt


@runtime_checkable
class Prompts(Protocol):
    """Prompts of the caller (and those the run config declares). Another caller's prompt is not found (404)."""

    async def list_prompts(self) -> ListPromptsResponse:
        """The default version of every prompt the caller can read, newest prompt first."""
        ...

    async def get_prompt(self, prompt_id: str, version: int | None = None) -> Prompt:
        """That version, or the default one; NotFoundError (param `prompt_id` or `version`) when there is none."""
        ...

    async def create_prompt(self, prompt: str, variables: list[str] | None = None) -> Prompt:
        """Version 1 of a new prompt, its default. InvalidRequestError naming a bad or undeclared variable."""
        ...

    async def update_prompt(self, prompt_id: str, prompt: str, version: int, variables: list[str] | None = None,
                            set_as_default: bool = True) -> Prompt:
        """A new version after `version`, which must be the latest: ConflictError (409) otherwise, also when a
        concurrent update made the same version first."""
        ...

    async def delete_prompt(self, prompt_id: str) -> None:
        """Delete every version; NotFoundError when unknown."""
        ...

    async def list_prompt_versions(self, prompt_id: str) -> ListPromptsResponse:
        """Every version, oldest first, the default one marked."""
        ...

    async def set_default_version(self, prompt_id: str, version: int) -> Prompt:
        """Make `version` the default; NotFoundError (param `version`) when the prompt has no such version."""
        ...
