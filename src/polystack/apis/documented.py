"""How a route documents its response body: `responses=returns(Model)`, shown in /openapi.json, never run.

Handlers return a ready starlette Response (`JSONBody`, `respond`), serialised once with orjson. FastAPI's
`response_model=` would validate and re-serialise every body on the hot path; a `responses` entry only
feeds the OpenAPI document. Shared shapes that several APIs answer with (OpenAI's cursor page) live here.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


def returns(model: Any, status: int = 200) -> dict[int | str, dict[str, Any]]:
    """`responses=` documenting the success body as `model` (a pydantic model or type), without validating it."""
    return {status: {"model": model}}


def returns_bytes(media_type: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a body of raw bytes (a download)."""
    return {200: {"content": {media_type: {"schema": {"type": "string", "format": "binary"}}}}}


class ListPage(BaseModel, Generic[T]):
    """OpenAI's cursor page: `data` in order, `after=last_id` fetches the next page while `has_more`."""

    object: Literal["list"] = "list"
    data: list[T]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False
