"""Virtual key tokens: `sk-ps-<16 hex id><43 url-safe chars>`, stored as a salted SHA-256 digest.

The secret is 256 random bits, so it cannot be guessed or brute-forced from its digest whatever the hash's
speed: a slow KDF (scrypt) protects low-entropy passwords and would only add its cost (tens of ms) to each
uncached lookup. The per-key salt makes equal digests impossible to spot across keys and tables. The id
inside the token makes the lookup one primary-key read; the digest is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "sk-ps-"
_ID_HEX = 16


def new_token() -> tuple[str, str]:
    """(key id, token): the id is public (key_<hex>), the token is shown once."""
    ident = secrets.token_hex(_ID_HEX // 2)
    return f"key_{ident}", f"{PREFIX}{ident}{secrets.token_urlsafe(32)}"


def token_for(key_id: str) -> str:
    """A new token for an existing key (rotation): same id, new secret."""
    return f"{PREFIX}{key_id.removeprefix('key_')}{secrets.token_urlsafe(32)}"


def key_id_of(token: str) -> str | None:
    """The key id a token names, or None when it is not a virtual key token."""
    if not token.startswith(PREFIX) or len(token) < len(PREFIX) + _ID_HEX + 20:
        return None
    ident = token[len(PREFIX):len(PREFIX) + _ID_HEX]
    try:
        int(ident, 16)
    except ValueError:
        return None
    return f"key_{ident}"


def digest(token: str, salt: bytes) -> str:
    return hashlib.sha256(salt + token.encode("utf-8", "surrogatepass")).hexdigest()


def new_salt() -> bytes:
    return secrets.token_bytes(16)


def matches(token: str, salt_hex: str, expected_hex: str) -> bool:
    return hmac.compare_digest(digest(token, bytes.fromhex(salt_hex)), expected_hex)


def redacted(token: str) -> str:
    return f"{PREFIX}...{token[-4:]}"
