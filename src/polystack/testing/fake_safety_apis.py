"""A FAKE of three vendors' safety APIs on loopback, written from their public docs, for adapter tests.

Not the vendors' services: one aiohttp server answering in their documented shapes, judging text by a
small word list (UNSAFE_WORDS) so tests know the verdicts.

- OpenAI moderations: POST /v1/moderations {model, input} with `Authorization: Bearer <openai_key>`
  -> {id, model, results: [{flagged, categories, category_scores, category_applied_input_types}]}.
- Amazon Bedrock ApplyGuardrail: POST /guardrail/{id}/version/{version}/apply {source, content:[{text:{text}}]},
  SigV4-signed for service "bedrock" with (aws_access_key, aws_secret_key): the signature is checked, a
  wrong one is a 403 -> {action: GUARDRAIL_INTERVENED|NONE, outputs:[{text}], assessments:[{contentPolicy:
  {filters:[{type, confidence, action}]}}], usage}.
- NVIDIA NeMo Guardrails: POST /v1/guardrail/checks {model, messages, guardrails:{config_id}} -> {status:
  blocked|success, rails_status: {<rail>: {status}}}.

`down = True` makes every endpoint answer 503; `requests` records (path, JSON body) of each request.
"""

from __future__ import annotations

import hmac
import re
import uuid
from typing import Any

from aiohttp import web

from polystack.apis.safety.types import OPENAI_CATEGORIES
from polystack.providers.remote.safety.bedrock_guardrails import sigv4

# word -> (OpenAI category, Bedrock content filter type)
UNSAFE_WORDS: dict[str, tuple[str, str]] = {
    "kill": ("violence", "VIOLENCE"),
    "bomb": ("violence", "VIOLENCE"),
    "idiot": ("harassment", "INSULTS"),
    "vermin": ("hate", "HATE"),
}
BLOCKED_MESSAGE = "Sorry, the model cannot answer this question."


def judge(text: str) -> list[tuple[str, str]]:
    words = set(re.findall(r"[a-z]+", text.lower()))
    return [flag for word, flag in UNSAFE_WORDS.items() if word in words]


class FakeSafetyAPIs:
    def __init__(self, *, openai_key: str = "sk-fake-moderation", aws_access_key: str = "AKIDFAKE",
                 aws_secret_key: str = "fake-secret/key", region: str = "us-east-1") -> None:
        self.openai_key = openai_key
        self.aws_access_key = aws_access_key
        self.aws_secret_key = aws_secret_key
        self.region = region
        self.down = False
        self.requests: list[tuple[str, Any]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakeSafetyAPIs:
        app = web.Application()
        app.router.add_post("/v1/moderations", self._openai)
        app.router.add_post("/guardrail/{guardrail}/version/{version}/apply", self._bedrock)
        app.router.add_post("/v1/guardrail/checks", self._nemo)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _read(self, request: web.Request) -> tuple[bytes, Any]:
        raw = await request.read()
        body = await request.json() if raw else None
        self.requests.append((request.path, body))
        return raw, body

    # ---- OpenAI ------------------------------------------------------------------------------------

    async def _openai(self, request: web.Request) -> web.Response:
        _, body = await self._read(request)
        if self.down:
            return web.json_response({"error": {"message": "overloaded", "type": "server_error"}}, status=503)
        if request.headers.get("Authorization") != f"Bearer {self.openai_key}":
            return web.json_response({"error": {"message": "Incorrect API key provided", "type":
                                                "invalid_request_error", "code": "invalid_api_key"}}, status=401)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        results = []
        for text in inputs:
            flags = {category for category, _ in judge(text)}
            results.append({
                "flagged": bool(flags),
                "categories": {name: name in flags for name in OPENAI_CATEGORIES},
                "category_scores": {name: 0.97 if name in flags else 0.001 for name in OPENAI_CATEGORIES},
                "category_applied_input_types": {name: ["text"] for name in OPENAI_CATEGORIES},
            })
        return web.json_response({"id": f"modr-{uuid.uuid4().hex}", "model": body.get("model"), "results": results})

    # ---- Bedrock -----------------------------------------------------------------------------------

    async def _bedrock(self, request: web.Request) -> web.Response:
        raw, body = await self._read(request)
        if self.down:
            return web.json_response({"message": "Service unavailable"}, status=503)
        if not self._signed(request, raw):
            return web.json_response({"message": "The request signature we calculated does not match the "
                                                 "signature you provided."}, status=403)
        text = " ".join(block["text"]["text"] for block in body["content"])
        flags = judge(text)
        assessment = {"contentPolicy": {"filters": [
            {"type": kind, "confidence": "HIGH", "filterStrength": "HIGH", "action": "BLOCKED"}
            for _, kind in flags]}} if flags else {}
        return web.json_response({
            "usage": {"contentPolicyUnits": 1, "topicPolicyUnits": 1, "wordPolicyUnits": 1,
                      "sensitiveInformationPolicyUnits": 0, "contextualGroundingPolicyUnits": 0},
            "action": "GUARDRAIL_INTERVENED" if flags else "NONE",
            "outputs": [{"text": BLOCKED_MESSAGE}] if flags else [],
            "assessments": [assessment] if flags else [],
        })

    def _signed(self, request: web.Request, raw: bytes) -> bool:
        found = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                             r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})",
                             request.headers.get("Authorization", ""))
        if found is None:
            return False
        access_key, _, region, service, signed_names, _ = found.groups()
        if access_key != self.aws_access_key or region != self.region or service != "bedrock":
            return False
        headers = {name: request.headers.get(name, "") for name in signed_names.split(";")}
        if "host" not in headers or "x-amz-date" not in headers:
            return False
        path, _, query = request.raw_path.partition("?")
        expected = sigv4.authorization(method=request.method, path=path, query=query, headers=headers,
                                       payload=raw, access_key=access_key, secret_key=self.aws_secret_key,
                                       region=region, service=service, amz_date=headers["x-amz-date"])
        return hmac.compare_digest(expected, request.headers["Authorization"])

    # ---- NeMo Guardrails ---------------------------------------------------------------------------

    async def _nemo(self, request: web.Request) -> web.Response:
        _, body = await self._read(request)
        if self.down:
            return web.json_response({"detail": "Service unavailable"}, status=503)
        messages = body.get("messages") or []
        last = messages[-1].get("content", "") if messages else ""
        flags = judge(last if isinstance(last, str) else "")
        rail = "self check output" if messages and messages[-1].get("role") == "assistant" else "self check input"
        return web.json_response({
            "status": "blocked" if flags else "success",
            "rails_status": {rail: {"status": "blocked" if flags else "success"}},
        })
