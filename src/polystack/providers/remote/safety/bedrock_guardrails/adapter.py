"""BedrockGuardrails: POST /guardrail/{id}/version/{version}/apply, SigV4-signed; GUARDRAIL_INTERVENED is a
violation, the guardrail's content filters map to OpenAI's moderation categories."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any
from urllib.parse import quote

import httpx

from polystack.apis.errors import InvalidRequestError
from polystack.apis.safety.errors import ShieldUnavailableError
from polystack.apis.safety.types import ModerationResult, RunShieldResponse, Shield
from polystack.providers.remote.safety._http import last_text, moderation, post_json, violation_of
from polystack.providers.remote.safety.bedrock_guardrails import sigv4
from polystack.providers.remote.safety.bedrock_guardrails.config import BedrockGuardrailsConfig
from polystack.providers.utils.http_client import make_http_client

# Bedrock content filter types -> OpenAI moderation categories (PROMPT_ATTACK has none: flagged, kept in metadata)
FILTER_CATEGORIES: dict[str, tuple[str, ...]] = {
    "HATE": ("hate",),
    "INSULTS": ("harassment",),
    "SEXUAL": ("sexual",),
    "VIOLENCE": ("violence",),
    "MISCONDUCT": ("illicit",),
    "PROMPT_ATTACK": (),
}


class BedrockGuardrails:
    def __init__(self, config: BedrockGuardrailsConfig) -> None:
        self.config = config
        self.endpoint = (config.endpoint_url or f"https://bedrock-runtime.{config.region}.amazonaws.com").rstrip("/")
        self.client = make_http_client(timeout=config.timeout_seconds)

    async def register_shield(self, shield: Shield) -> None:
        version = (shield.params or {}).get("guardrail_version", "DRAFT")
        if not isinstance(version, str | int):
            raise InvalidRequestError("params.guardrail_version must be a version number or DRAFT", param="params")

    async def apply(self, shield: Shield, text: str, source: str) -> dict[str, Any]:
        """ApplyGuardrail on one text; the service's JSON answer."""
        version = str((shield.params or {}).get("guardrail_version", "DRAFT"))
        url = (f"{self.endpoint}/guardrail/{quote(shield.provider_resource_id, safe='')}"
               f"/version/{quote(version, safe='')}/apply")
        body = {"source": source, "content": [{"text": {"text": text}}]}
        answer = await post_json(self.client, url, body, provider_id=shield.provider_id, sign=self._sign)
        if not isinstance(answer, dict) or answer.get("action") not in ("GUARDRAIL_INTERVENED", "NONE"):
            raise ShieldUnavailableError(shield.identifier, shield.provider_id, "ApplyGuardrail answered no action")
        return answer

    def _sign(self, request: httpx.Request) -> None:
        config = self.config
        request.headers["x-amz-date"] = sigv4.amz_date()
        if config.aws_session_token is not None:
            request.headers["x-amz-security-token"] = config.aws_session_token.get_secret_value()
        signed = {name: request.headers[name] for name in ("content-type", "host", "x-amz-date",
                                                           "x-amz-security-token") if name in request.headers}
        request.headers["x-amz-content-sha256"] = hashlib.sha256(request.content).hexdigest()
        signed["x-amz-content-sha256"] = request.headers["x-amz-content-sha256"]
        request.headers["authorization"] = sigv4.authorization(
            method=request.method, path=request.url.raw_path.decode().split("?")[0], query=request.url.query.decode(),
            headers=signed, payload=request.content, access_key=config.aws_access_key_id,
            secret_key=config.aws_secret_access_key.get_secret_value(), region=config.region, service="bedrock",
            amz_date=request.headers["x-amz-date"])

    async def run_shield(self, shield: Shield, messages: list[dict[str, Any]], params: dict[str, Any]
                         ) -> RunShieldResponse:
        text, role = last_text(messages)
        if not text:
            return RunShieldResponse()
        answer = await self.apply(shield, text, "OUTPUT" if role == "assistant" else "INPUT")
        if answer["action"] != "GUARDRAIL_INTERVENED":
            return RunShieldResponse()
        filters = _blocked_filters(answer)
        outputs = answer.get("outputs") or []
        message = outputs[0].get("text") if outputs and isinstance(outputs[0], dict) else None
        return violation_of(filters, {"assessments": answer.get("assessments", [])}, message)

    async def run_moderation(self, shield: Shield, inputs: list[str]) -> list[ModerationResult]:
        answers = await asyncio.gather(*(self.apply(shield, text, "INPUT") for text in inputs))
        results = []
        for answer in answers:
            filters = _blocked_filters(answer)
            categories = {category for name in filters for category in FILTER_CATEGORIES.get(name, ())}
            results.append(moderation(categories, flagged=answer["action"] == "GUARDRAIL_INTERVENED",
                                      metadata={"bedrock_filters": filters} if filters else {}))
        return results

    async def shutdown(self) -> None:
        await self.client.aclose()


def _blocked_filters(answer: dict[str, Any]) -> list[str]:
    """The content filter types (and denied topics, as TOPIC:<name>) that intervened."""
    found: list[str] = []
    for assessment in answer.get("assessments") or []:
        for item in (assessment.get("contentPolicy") or {}).get("filters") or []:
            if item.get("action") == "BLOCKED" and item.get("type"):
                found.append(str(item["type"]))
        for topic in (assessment.get("topicPolicy") or {}).get("topics") or []:
            if topic.get("action") == "BLOCKED":
                found.append(f"TOPIC:{topic.get('name')}")
    return list(dict.fromkeys(found))
