"""PII and secret detectors: each finds spans of one kind in a text, with a checksum where the kind has one.

Rules and sources:
- email: a practical regex for addresses (local@domain.tld), not full RFC 5322; an image file name such as
  icon@2x.png is no address.
- phone: Google's libphonenumber (package `phonenumbers`), numbers that are valid for their region.
- credit_card: 13 to 19 digits, optionally grouped with spaces or dashes, that pass the Luhn check.
- iban: python-stdnum's IBAN validation (country length and format, then the ISO 7064 mod-97 check).
- aws_access_key: AKIA/ASIA + 16 upper-case letters or digits (AWS's access key id format).
- github_token: ghp_/gho_/ghu_/ghs_/ghr_ + 36 or more characters, and fine-grained github_pat_ tokens.
- openai_key: sk- / sk-proj- / sk-svcacct- / sk-admin- + 20 or more key characters (not sk-ant-).
- anthropic_key: sk-ant-api03- style keys.
- slack_token: xoxb-/xoxp-/xoxa-/xoxr-/xoxs- tokens.
- google_api_key: AIza + 35 characters.
- stripe_key: sk_live_/rk_live_ keys.
- jwt: three base64url segments whose first two decode as JSON objects (header.payload.signature).
- private_key: a PEM "-----BEGIN ... PRIVATE KEY-----" block (to its END line, or the BEGIN line alone).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

# In the order overlaps are settled: a span found by an earlier kind wins over a later kind's overlapping one
# (a key that contains digits is a key, not a phone number).
KINDS: tuple[str, ...] = (
    "private_key", "jwt", "aws_access_key", "github_token", "anthropic_key", "openai_key", "slack_token",
    "google_api_key", "stripe_key", "email", "iban", "credit_card", "phone",
)
SECRET_KINDS = frozenset(KINDS[:9])


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int

    @property
    def category(self) -> str:
        """The shield's own category name: secret/<kind> or pii/<kind>."""
        group = "secret" if self.kind in SECRET_KINDS else "pii"
        return f"{group}/{self.kind.replace('_', '-')}"


_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}(?!(?:png|jpe?g|gif|svg|webp|ico|bmp)\b)[A-Za-z]{2,24}"
    r"(?![\w-])"
)
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
_PEM_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]{1,16} ){0,3}PRIVATE KEY-----")
_PEM_END = re.compile(r"-----END (?:[A-Z0-9]{1,16} ){0,3}PRIVATE KEY-----")
_PEM_MAX = 16_384  # an RSA-8192 key in PEM is about 6.3 KB
_PATTERNS: dict[str, re.Pattern[str]] = {
    "aws_access_key": re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"),
    "github_token": re.compile(r"(?<![\w])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})(?!\w)"),
    "anthropic_key": re.compile(r"(?<![\w-])sk-ant-[a-z]{2,8}\d{2}-[A-Za-z0-9_-]{20,300}"),
    "openai_key": re.compile(r"(?<![\w-])sk-(?!ant-)(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{20,300}"),
    "slack_token": re.compile(r"(?<![\w-])xox[abprs]-[A-Za-z0-9-]{10,}"),
    "google_api_key": re.compile(r"(?<![\w-])AIza[0-9A-Za-z_-]{35}(?![\w-])"),
    "stripe_key": re.compile(r"(?<![\w])(?:sk|rk)_live_[0-9A-Za-z]{16,}"),
    "jwt": re.compile(r"(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
}


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _cards(text: str) -> Iterator[tuple[int, int]]:
    for match in _CARD.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        # A run of one digit passes Luhn (0000 0000 ...) and is no card; so does nothing shorter than 13.
        if 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_valid(digits):
            yield match.start(), match.end()


def _ibans(text: str) -> Iterator[tuple[int, int]]:
    from stdnum import iban

    for match in _IBAN.finditer(text):
        candidate = match.group()
        # The pattern is greedy over spaced groups; drop trailing groups until the rest is a valid IBAN.
        while len(candidate.replace(" ", "")) >= 15:
            if iban.is_valid(candidate):
                yield match.start(), match.start() + len(candidate)
                break
            cut = candidate.rfind(" ")
            candidate = candidate[:cut] if cut > 0 else candidate[:-1]


def _private_keys(text: str) -> Iterator[tuple[int, int]]:
    """A BEGIN line through its END line (or the BEGIN line alone); the END is looked for with str.find,
    not a lazy regex, so many BEGIN lines without an END cost linear time."""
    position = 0
    while (begin := _PEM_BEGIN.search(text, position)) is not None:
        end_at = text.find("-----END ", begin.end(), begin.end() + _PEM_MAX)
        end = _PEM_END.match(text, end_at) if end_at >= 0 else None
        stop = end.end() if end is not None else begin.end()
        yield begin.start(), stop
        position = stop


def _jwt_part(segment: str) -> bool:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError):
        return False
    return isinstance(decoded, dict)


def _jwts(text: str) -> Iterator[tuple[int, int]]:
    for match in _PATTERNS["jwt"].finditer(text):
        header, payload, _ = match.group().split(".", 2)
        if _jwt_part(header) and _jwt_part(payload):
            yield match.start(), match.end()


@cache
def _phonenumbers() -> Any:
    import phonenumbers

    return phonenumbers


def _phones(text: str, region: str) -> Iterator[tuple[int, int]]:
    phonenumbers = _phonenumbers()
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        yield match.start, match.end


def _regex(kind: str) -> Callable[[str], Iterator[tuple[int, int]]]:
    pattern = _PATTERNS[kind]
    return lambda text: ((m.start(), m.end()) for m in pattern.finditer(text))


def find(text: str, kinds: tuple[str, ...] | list[str] = KINDS, *, phone_region: str = "US") -> list[Finding]:
    """Every finding of `kinds` in `text`, in text order, overlaps settled by the order of KINDS."""
    finders: dict[str, Callable[[str], Iterator[tuple[int, int]]]] = {
        "email": lambda t: ((m.start(), m.end()) for m in _EMAIL.finditer(t)),
        "credit_card": _cards,
        "iban": _ibans,
        "jwt": _jwts,
        "private_key": _private_keys,
        "phone": lambda t: _phones(t, phone_region),
    }
    taken: list[Finding] = []
    for kind in KINDS:
        if kind not in kinds:
            continue
        finder = finders[kind] if kind in finders else _regex(kind)
        for start, end in finder(text):
            if all(end <= other.start or start >= other.end for other in taken):
                taken.append(Finding(kind, start, end))
    return sorted(taken, key=lambda finding: finding.start)


def redact(text: str, findings: list[Finding]) -> str:
    """`text` with each finding replaced by [KIND] (findings must not overlap, as `find` returns them)."""
    pieces: list[str] = []
    cursor = 0
    for finding in sorted(findings, key=lambda f: f.start):
        pieces.append(text[cursor:finding.start])
        pieces.append(f"[{finding.kind.upper()}]")
        cursor = finding.end
    pieces.append(text[cursor:])
    return "".join(pieces)
