"""What a failed provider call was (its fault class) and how long to wait before trying again."""

from __future__ import annotations

import random
import re
import time
from email.utils import parsedate_to_datetime
from enum import StrEnum

from polystack.apis.errors import (
    InvalidRequestError,
    PolystackError,
    ProviderError,
    ProviderTimeoutError,
    QuotaExceededError,
    ServiceUnavailableError,
)


class Fault(StrEnum):
    timeout = "timeout"
    connection = "connection"
    rate_limit = "rate_limit"
    server = "server"  # a 5xx, or an answer that was not what OpenAI's API answers
    context_window = "context_window"
    content_policy = "content_policy"
    caller = "caller"  # a 4xx the caller caused: never retried, never another model's business

    @property
    def retried(self) -> bool:
        """Worth the same call again after a pause."""
        return self in _RETRIED

    @property
    def counts(self) -> bool:
        """Held against the deployment: enough of them open its circuit."""
        return self in _RETRIED


_RETRIED = frozenset({Fault.timeout, Fault.connection, Fault.rate_limit, Fault.server})

# Upstream wordings (OpenAI, Azure, vLLM, llama.cpp, Anthropic, Bedrock) of the two errors with fallbacks of
# their own; the upstream message is inside our error's message (see providers/utils/openai_compat/errors.py).
_CONTEXT_WINDOW = re.compile(
    r"context[_ ]length[_ ]exceeded|maximum context length|context window|exceeds the (available )?context"
    r"|prompt is too long|too many tokens|input is too long|reduce the length", re.IGNORECASE)
_CONTENT_POLICY = re.compile(
    r"content[_ ]policy|content[_ ]filter|content management policy|responsible ai|safety system"
    r"|flagged as (potentially )?violating", re.IGNORECASE)
_CONNECTION = re.compile(r"cannot reach|connection .*broke|connection failed|ReadError|RemoteProtocolError")


def classify(error: BaseException) -> Fault:
    """The fault class of a provider call's error."""
    if isinstance(error, ProviderTimeoutError | TimeoutError):
        return Fault.timeout
    if isinstance(error, QuotaExceededError):
        return Fault.rate_limit
    if isinstance(error, ServiceUnavailableError):
        return Fault.server
    if isinstance(error, ProviderError):
        if error.status_code == 502 and _CONNECTION.search(error.message):
            return Fault.connection
        return Fault.server  # our key refused is one too: another deployment may hold a good one
    if isinstance(error, PolystackError) and 400 <= error.status_code < 500:
        if isinstance(error, InvalidRequestError):
            if _CONTEXT_WINDOW.search(error.message):
                return Fault.context_window
            if _CONTENT_POLICY.search(error.message):
                return Fault.content_policy
        return Fault.caller
    if isinstance(error, PolystackError):
        return Fault.server
    if isinstance(error, ConnectionError | OSError):
        return Fault.connection
    return Fault.server


def retry_after(error: BaseException) -> float | None:
    """Seconds the upstream asked us to wait (Retry-After-Ms, Retry-After in seconds or as a date)."""
    headers = getattr(error, "headers", None)
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def backoff(round_: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**(round-1))]."""
    return random.uniform(0, min(cap, base * (2 ** max(round_ - 1, 0))))
