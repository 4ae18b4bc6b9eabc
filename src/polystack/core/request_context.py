"""Per-request context: the caller's provider data (X-LlamaStack-Provider-Data) and user."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from polystack.apis.datatypes import User
from polystack.apis.errors import InvalidRequestError

PROVIDER_DATA_HEADERS = (b"x-llamastack-provider-data", b"x-ogx-provider-data")

_provider_data: ContextVar[dict[str, Any] | None] = ContextVar("provider_data", default=None)
current_user: ContextVar[User | None] = ContextVar("current_user", default=None)

T = TypeVar("T", bound=BaseModel)


def set_provider_data(data: dict[str, Any] | None) -> Any:
    return _provider_data.set(data)


def reset_provider_data(token: Any) -> None:
    _provider_data.reset(token)


def provider_data(validator: type[T]) -> T | None:
    """The request's provider data validated by a provider's model; unknown keys are ignored."""
    raw = _provider_data.get()
    if not raw:
        return None
    try:
        return validator.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InvalidRequestError(
            f"Invalid provider data header: '{field}': {first['msg']}", param="X-LlamaStack-Provider-Data"
        ) from None
