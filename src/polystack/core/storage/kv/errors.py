"""The one message for a KV backend that cannot be reached, with secrets kept out of it."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote

from polystack.apis.errors import ServiceUnavailableError


def kv_unavailable(backend_type: str, address: str, cause: BaseException,
                   secrets: Iterable[str | None] = ()) -> ServiceUnavailableError:
    """A 503 naming the backend and its address (never a password), for startup and run-time failures.

    Driver messages may quote a DSN or URL, so every secret (and its URL-decoded form) is blanked.
    """
    detail = str(cause) or type(cause).__name__
    for secret in secrets:
        for form in {secret, unquote(secret)} if secret else ():
            detail = detail.replace(form, "***")
    return ServiceUnavailableError(f"KV store {backend_type} at {address} is unavailable: {detail}")
