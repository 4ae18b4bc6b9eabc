"""AWS Signature Version 4 with the standard library (hmac, hashlib), per AWS's published algorithm.

Enough for JSON APIs such as Bedrock's ApplyGuardrail: the canonical request (method, path encoded as
non-S3 services expect, sorted query, signed headers, payload hash), the string to sign, the derived
signing key and the Authorization header. Tested against AWS's published test vectors.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote

ALGORITHM = "AWS4-HMAC-SHA256"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(("AWS4" + secret_key).encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def canonical_uri(path: str, *, double_encode: bool = True) -> str:
    """The path as signed: each segment URI-encoded (again, for every service but S3)."""
    if not path:
        return "/"
    return quote(path, safe="/-_.~") if double_encode else path


def canonical_query(query: str) -> str:
    pairs = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in parse_qsl(query, keep_blank_values=True))
    return "&".join(f"{k}={v}" for k, v in pairs)


def canonical_request(method: str, path: str, query: str, headers: dict[str, str], payload: bytes,
                      *, double_encode: bool = True) -> tuple[str, str]:
    """(the canonical request, the signed header names joined by ';')."""
    names = sorted(headers)
    canonical_headers = "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in names)
    signed = ";".join(names)
    text = "\n".join([method.upper(), canonical_uri(path, double_encode=double_encode), canonical_query(query),
                      canonical_headers, signed, hashlib.sha256(payload).hexdigest()])
    return text, signed


def authorization(*, method: str, path: str, query: str, headers: dict[str, str], payload: bytes,
                  access_key: str, secret_key: str, region: str, service: str, amz_date: str,
                  double_encode: bool = True) -> str:
    """The Authorization header for a request whose `headers` (lower-case names, host and x-amz-date
    included) are all signed."""
    request, signed = canonical_request(method, path, query, {k.lower(): v for k, v in headers.items()}, payload,
                                        double_encode=double_encode)
    date = amz_date[:8]
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(request.encode()).hexdigest()])
    signature = hmac.new(signing_key(secret_key, date, region, service), to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{ALGORITHM} Credential={access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"


def amz_date(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
