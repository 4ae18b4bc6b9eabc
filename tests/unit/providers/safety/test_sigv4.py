"""SigV4 with the standard library, against AWS's published test vectors and botocore's signer."""

from __future__ import annotations

import pytest

from polystack.providers.remote.safety.bedrock_guardrails import sigv4

KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"  # the test suite's credentials
HEADERS = {"host": "example.amazonaws.com", "x-amz-date": "20150830T123600Z"}


def sign(method: str, path: str, query: str = "", payload: bytes = b"", **headers: str) -> str:
    return sigv4.authorization(method=method, path=path, query=query, headers={**HEADERS, **headers},
                               payload=payload, access_key=KEY, secret_key=SECRET, region="us-east-1",
                               service="service", amz_date="20150830T123600Z")


def test_get_vanilla():  # aws-sig-v4-test-suite/get-vanilla/get-vanilla.authz
    assert sign("GET", "/") == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")


def test_get_vanilla_query_order_key_case():  # the query is sorted into canonical order
    assert sign("GET", "/", "Param2=value2&Param1=value1").endswith(
        "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")


def test_a_bedrock_request_signs_as_botocore_does():
    """An ApplyGuardrail POST with an ARN as the guardrail id (encoded twice in the canonical path)."""
    auth = pytest.importorskip("botocore.auth")
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    path = "/guardrail/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aguardrail%2Fgr1/version/DRAFT/apply"
    body = b'{"source":"INPUT","content":[{"text":{"text":"hello  world"}}]}'
    headers = {"host": "bedrock-runtime.us-east-1.amazonaws.com", "x-amz-date": "20261207T120000Z",
               "content-type": "application/json"}
    ours = sigv4.authorization(method="POST", path=path, query="", headers=headers, payload=body, access_key=KEY,
                               secret_key=SECRET, region="us-east-1", service="bedrock", amz_date="20261207T120000Z")
    request = AWSRequest(method="POST", url=f"https://{headers['host']}{path}", data=body,
                         headers={"Content-Type": "application/json", "X-Amz-Date": "20261207T120000Z"})
    request.context["timestamp"] = "20261207T120000Z"
    signer = auth.SigV4Auth(Credentials(KEY, SECRET), "bedrock", "us-east-1")
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    assert ours.endswith(f"Signature={signature}")
