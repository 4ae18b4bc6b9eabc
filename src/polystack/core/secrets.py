"""Every secret the process knows (configured ones and the caller's keys) and masking them in outgoing text.

Redaction by key name alone misses a password inside a URL, a header value, a key under an unusual
name, and anything an upstream server echoes back. So secrets are collected by value from the config
(and from the current request's provider data), and every text that leaves the process - error
messages, log records, GET /v1/providers, `config show` - goes through `scrub`.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, SecretStr

E = TypeVar("E", bound=BaseException)

MASK = "********"
MIN_LENGTH = 4  # shorter values would mask ordinary words; no real key or password is that short

_SECRET_WORDS = {"password", "passwd", "secret", "token", "credential", "credentials", "apikey"}
_URL_PASSWORD = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@'\"]*:)([^/\s@'\"]+)@")
_WORD = re.compile(r"[^a-z0-9]+")


def is_secret_name(key: str) -> bool:
    """Whether a config or provider-data key holds a secret: api_key, secret_access_key, db_password, ..."""
    parts = [part for part in _WORD.split(key.lower()) if part]
    return bool(parts) and (parts[-1] == "key" or any(part in _SECRET_WORDS for part in parts))


def is_headers_name(key: str) -> bool:
    """Header maps (extra_headers, ...) carry credentials by value whatever the header is called."""
    return key.lower().endswith("headers")


def collect(value: Any, *, secret: bool = False) -> Iterator[str]:
    """The secret strings inside a config value: SecretStr values, values of secret-named keys and of
    header maps, and passwords inside URLs."""
    if isinstance(value, BaseModel):
        yield from _collect_model(value)
    elif isinstance(value, SecretStr):
        yield from _values(value.get_secret_value())
    elif isinstance(value, dict):
        for key, item in value.items():
            name = str(key)
            yield from collect(item, secret=secret or is_secret_name(name) or is_headers_name(name))
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from collect(item, secret=secret)
    elif isinstance(value, str):
        if secret:
            yield from _values(value)
        for match in _URL_PASSWORD.finditer(value):
            yield from _values(match.group(2))


def _collect_model(model: BaseModel) -> Iterator[str]:
    for name in type(model).model_fields:
        yield from collect(getattr(model, name, None), secret=is_secret_name(name) or is_headers_name(name))
    yield from collect(model.model_extra or {})


def _values(text: str) -> Iterator[str]:
    """A secret and, for 'Bearer xyz'-style values, the credential alone (upstreams echo either).

    In a URL kept as a secret (redis://:pw@host) only its password is: its address stays readable in logs.
    """
    text = text.strip()
    if "://" in text:
        for match in _URL_PASSWORD.finditer(text):
            yield from _values(match.group(2))
        return
    if len(text) >= MIN_LENGTH:
        yield text
        last = text.split()[-1] if " " in text else ""
        if len(last) >= MIN_LENGTH:
            yield last


class _Known:
    """The configured secrets of every stack in this process, with one compiled pattern matching them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.values: frozenset[str] = frozenset()
        self.pattern: re.Pattern[str] | None = None

    def add(self, values: Iterable[str]) -> None:
        with self._lock:
            merged = self.values | frozenset(values)
            if merged != self.values:
                self.values = merged
                self.pattern = _pattern(merged)


def _pattern(values: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted(set(values), key=len, reverse=True)  # longest first: a key containing another is masked whole
    return re.compile("|".join(re.escape(value) for value in ordered)) if ordered else None


_known = _Known()


def register(config: Any) -> None:
    """Remember every secret in `config` (a run config or any part of one) for the life of the process,
    and the addresses of its storage backends."""
    _known.add(collect(config))
    backends = getattr(getattr(config, "storage", None), "backends", None) or {}
    register_database_addresses(backend.address() for backend in backends.values() if hasattr(backend, "address"))
    install_log_scrubbing()


def caller_secrets() -> set[str]:
    """The secrets the current request brought in its provider data (X-LlamaStack-Provider-Data)."""
    from polystack.core.request_context import provider_data

    try:
        data = provider_data(_AnyProviderData)
    except Exception:  # noqa: BLE001 - invalid provider data is reported elsewhere; nothing to add here
        return set()
    return set(collect(data.model_extra or {})) if data is not None else set()


class _AnyProviderData(BaseModel):
    model_config = ConfigDict(extra="allow")


def scrub(text: str) -> str:
    """`text` with every known secret (configured, or the caller's) and any password in a URL masked."""
    if not text:
        return text
    if "://" in text:
        text = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", text)
    if _known.pattern is not None:
        text = _known.pattern.sub(MASK, text)
    extra = caller_secrets()
    if extra:
        pattern = _pattern(extra)
        assert pattern is not None
        text = pattern.sub(MASK, text)
    return text


def scrub_error(error: E) -> E:
    """`error` with its message scrubbed, for errors whose message quotes what an upstream sent."""
    message = getattr(error, "message", None)
    if isinstance(message, str):
        clean = scrub(message)
        if clean != message:
            error.message = clean  # type: ignore[attr-defined]
            error.args = (clean,)
    return error


# ---- what callers may read: secrets, file paths and database addresses out --------------------------------

_PATH = re.compile(r"(?<![\w.:/~-])~?(?!/v1/|/openai/)(?:/[\w.@+-]+){2,}/?")  # two segments at least


def public_message(text: str) -> str:
    """An error message fit for a caller: no secrets, no file paths, no addresses of the process's databases."""
    text = scrub(text)
    for address in _database_addresses:
        text = text.replace(address, "<database>")
    return _PATH.sub(lambda m: "<path>/" + Path(m.group(0).rstrip("/")).name, text)


_database_addresses: set[str] = set()


def register_database_addresses(addresses: Iterable[str]) -> None:
    """host:port[/db] of the storage backends: operators see them in logs, callers never do."""
    _database_addresses.update(address for address in addresses if address)


# ---- logs ---------------------------------------------------------------------------------------------------

_installed = False


def install_log_scrubbing() -> None:
    """Make every log record, from any logger and library, mask known secrets (once per process).

    A record factory rather than a handler filter: it holds whatever handlers the app or tests install.
    Records are only made for enabled levels, so disabled debug logging costs nothing. Fields passed
    with `extra=` are set after the factory runs and are not masked: never pass secrets that way.
    """
    global _installed
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()

    def scrubbed_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        scrub_record(record)
        return record

    logging.setLogRecordFactory(scrubbed_record)
    _plain_factories.add(scrubbed_record)


_plain_factories: set[Any] = {logging.LogRecord}


def is_plain_record_factory() -> bool:
    """Whether records are made by logging's own factory or ours (which only masks their message)."""
    return logging.getLogRecordFactory() in _plain_factories


def scrub_record(record: logging.LogRecord) -> None:
    """Mask secrets in a record's message and, when it carries one, in its traceback."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string is logging's own error to report
        return
    clean = scrub(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[1] is not None:
        text = "".join(traceback.format_exception(*record.exc_info))
        clean_text = scrub(text)
        if clean_text != text:  # only then: formatters keep printing their own tracebacks otherwise
            record.msg, record.args = f"{clean}\n{clean_text.rstrip()}", None
            record.exc_info, record.exc_text = None, None
