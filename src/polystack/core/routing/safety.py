"""The safety router: resolves a shield by id and asks its provider; moderations in OpenAI's shape.

Every shield call goes through `judge`, which turns any failure of the guard (down, timing out, answering
nonsense) into a 502 naming the shield, and marks the call so that guardrails never judge the guard's own
inference calls. `check_text` is the small entry point other engines (Responses, agents) call.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

from polystack.apis.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PolystackError,
)
from polystack.apis.safety.errors import ShieldUnavailableError
from polystack.apis.safety.types import (
    OPENAI_CATEGORIES,
    ModerationObject,
    ModerationRequest,
    ModerationResult,
    ModerationTextPart,
    RunShieldRequest,
    RunShieldResponse,
    SafetyViolation,
    Shield,
)
from polystack.core.request_log import note_shield
from polystack.core.routing.shields import ShieldsRoutingTable
from polystack.core.telemetry.tracing import span

logger = logging.getLogger("polystack.safety")

# True while a shield runs: guardrails let the guard's own inference calls through unjudged.
_judging: ContextVar[bool] = ContextVar("safety_judging", default=False)


def judging() -> bool:
    """Whether the current code runs on behalf of a shield (its inference calls are not guarded)."""
    return _judging.get()


@contextmanager
def _as_judge() -> Iterator[None]:
    token = _judging.set(True)
    try:
        yield
    finally:
        _judging.reset(token)


@dataclass(frozen=True)
class ShieldVerdict:
    """One shield's answer on one text: a violation, none, or `error` when it failed and fail_open let it pass."""

    shield_id: str
    violation: SafetyViolation | None
    error: str | None = None

    def summary(self) -> str:
        if self.error is not None:
            return "error (passed: fail_open)"
        if self.violation is None:
            return "pass"
        categories = self.violation.metadata.get("categories")
        return f"violation ({','.join(map(str, categories))})" if categories else "violation"


class SafetyRouter:
    """Implements the Safety API over the shields table; see the module docstring."""

    def __init__(self, table: ShieldsRoutingTable, *, default_moderation_shield: str | None = None,
                 fail_open: bool = False) -> None:
        self.table = table
        self.default_moderation_shield = default_moderation_shield
        self.fail_open = fail_open

    # ---- run-shield ----------------------------------------------------------------------------

    async def run_shield(self, request: RunShieldRequest) -> RunShieldResponse:
        shield = await self.table.get_or_404(request.shield_id)
        return await self.judge(shield, request.messages, request.params)

    async def judge(self, shield: Shield, messages: list[dict[str, Any]], params: dict[str, Any] | None = None
                    ) -> RunShieldResponse:
        """The shield's verdict on `messages`; a guard that fails is a ShieldUnavailableError (502)."""
        provider = self.table.providers[shield.provider_id]
        start = time.perf_counter()
        try:
            with span(f"shield {shield.identifier}", {"polystack.shield_id": shield.identifier,
                                                      "polystack.provider_id": shield.provider_id}
                      ), _as_judge(), _guard_errors(shield):
                response = await provider.run_shield(shield, messages, {**(shield.params or {}), **(params or {})})
        except ShieldUnavailableError:
            note_shield(shield.identifier, "error")
            raise
        note_shield(shield.identifier, "violation" if response.violation else "pass")
        logger.debug("shield %s judged %d message(s) in %.1f ms: %s", shield.identifier, len(messages),
                     (time.perf_counter() - start) * 1000, "violation" if response.violation else "pass")
        return response

    # ---- guardrails: many shields on one conversation ------------------------------------------

    async def shield_named(self, shield_id: str, param: str = "guardrails", *, trusted: bool = False) -> Shield:
        """The shield; `trusted` (named by the operator's config) skips the caller's access check."""
        shield = await (self.table.lookup(shield_id) if trusted else self.table.get(shield_id))
        if shield is None:
            raise NotFoundError(f"shield '{shield_id}' not found", param=param)
        return shield

    async def check(self, shield_ids: Sequence[str], messages: list[dict[str, Any]],
                    *, trusted: Collection[str] = ()) -> list[ShieldVerdict]:
        """Every shield's verdict on `messages`, run concurrently; a failing guard raises (fail closed) or,
        with fail_open, is logged and counted as a pass with its error noted. Shields in `trusted` (from
        the run config) are used whoever the caller is; others only if the caller may read them."""
        shields = [await self.shield_named(shield_id, trusted=shield_id in trusted) for shield_id in shield_ids]
        return list(await asyncio.gather(*(self._verdict(shield, messages) for shield in shields)))

    async def _verdict(self, shield: Shield, messages: list[dict[str, Any]]) -> ShieldVerdict:
        try:
            response = await self.judge(shield, messages)
        except ShieldUnavailableError as exc:
            if not self.fail_open:
                raise
            logger.warning("%s; letting the text through (safety.fail_open is true)", exc.message)
            return ShieldVerdict(shield.identifier, None, error=exc.message)
        return ShieldVerdict(shield.identifier, response.violation)

    async def check_text(self, shield_ids: Sequence[str], text: str,
                         role: Literal["user", "assistant"] = "user") -> SafetyViolation | None:
        """The first violation the shields find in `text` said by `role`, or None: what the Responses
        engine and agents call for their input and output guardrails (same fail-open rule)."""
        for verdict in await self.check(shield_ids, [{"role": role, "content": text}]):
            if verdict.violation is not None:
                return verdict.violation
        return None

    # ---- moderations ---------------------------------------------------------------------------

    async def _moderation_shield(self, model: str) -> Shield:
        """The shield `model` names: by id, else the one shield checking with that model (e.g. a request for
        omni-moderation-latest finds the shield whose provider_shield_id it is)."""
        shield = await self.table.get(model)
        if shield is not None:
            return shield
        serving = [s for s in await self.table.list() if s.provider_resource_id == model]
        if len(serving) == 1:
            return serving[0]
        raise NotFoundError(f"no shield '{model}'" + (f" (several check with that model: "
                            f"{', '.join(s.identifier for s in serving)})" if serving else "")
                            + "; list them with GET /v1/shields", param="model")

    async def run_moderation(self, request: ModerationRequest) -> ModerationObject:
        shield_id = request.model or self.default_moderation_shield
        if shield_id is None:
            raise InvalidRequestError("name a shield in 'model' (this server has no "
                                      "safety.default_moderation_shield)", param="model")
        shield = await self._moderation_shield(shield_id)
        inputs = _moderation_inputs(request.input)
        texts = [text for text, _ in inputs if text is not None]
        judged: list[ModerationResult] = []
        if texts:
            provider = self.table.providers[shield.provider_id]
            with span(f"shield {shield.identifier}", {"polystack.shield_id": shield.identifier,
                                                      "polystack.provider_id": shield.provider_id}
                      ), _as_judge(), _guard_errors(shield):
                judged = await provider.run_moderation(shield, texts)
            note_shield(shield.identifier, f"moderated {len(texts)}")
            if len(judged) != len(texts):
                raise ShieldUnavailableError(shield.identifier, shield.provider_id,
                                             f"{len(judged)} results for {len(texts)} inputs")
        results = iter(judged)
        return ModerationObject(
            id=f"modr-{uuid.uuid4().hex}", model=shield.identifier,
            results=[_complete(next(results), images) if text is not None else _unjudged(images)
                     for text, images in inputs])


def _moderation_inputs(value: Any) -> list[tuple[str | None, bool]]:
    """(text to judge or None, whether images were left unjudged) for each result OpenAI would give."""
    if isinstance(value, str):
        return [(value, False)]
    if all(isinstance(item, str) for item in value):
        return [(item, False) for item in value]
    texts = [part.text for part in value if isinstance(part, ModerationTextPart)]
    images = len(texts) < len(value)
    return [("\n".join(texts) if texts else None, images)]  # one multimodal input is one result


def _complete(result: ModerationResult, images: bool = False) -> ModerationResult:
    """Every OpenAI category present: those the provider did not judge are false, 0, judged on no input."""
    if images:
        result.metadata.setdefault("note", "images are not judged by this shield; only text is")
    categories = {name: bool(result.categories.get(name, False)) for name in OPENAI_CATEGORIES}
    scores = {name: float(result.category_scores.get(name, 0.0)) for name in OPENAI_CATEGORIES}
    applied = {name: list(result.category_applied_input_types.get(name, ["text"])) for name in OPENAI_CATEGORIES}
    extra = {name: value for name, value in result.categories.items() if name not in categories}
    if extra:  # a provider's own categories (e.g. llama-guard's S6) stay visible in metadata
        result.metadata.setdefault("provider_categories", extra)
    return result.model_copy(update={"categories": categories, "category_scores": scores,
                                     "category_applied_input_types": applied})


def _unjudged(images: bool) -> ModerationResult:
    """An input with no text: shields judge text only, so nothing was judged (applied input types empty)."""
    note = "images are not judged by this shield; only text is" if images else "no text to judge"
    return ModerationResult(
        flagged=False, categories=dict.fromkeys(OPENAI_CATEGORIES, False),
        category_scores=dict.fromkeys(OPENAI_CATEGORIES, 0.0),
        category_applied_input_types={name: [] for name in OPENAI_CATEGORIES}, metadata={"note": note})


@contextmanager
def _guard_errors(shield: Shield) -> Iterator[None]:
    """A guard's failure as a 502 naming the shield; a caller's own mistake (a 4xx about the request) as is."""
    try:
        yield
    except ShieldUnavailableError:
        raise
    except (AuthenticationError, NotFoundError) as exc:  # the guard's key or model: the operator's to fix
        raise ShieldUnavailableError(shield.identifier, shield.provider_id, exc.message) from exc
    except PolystackError as exc:
        if exc.status_code < 500:
            raise
        raise ShieldUnavailableError(shield.identifier, shield.provider_id, exc.message) from exc
    except (asyncio.CancelledError, GeneratorExit):
        raise
    except Exception as exc:
        raise ShieldUnavailableError(shield.identifier, shield.provider_id,
                                     f"{type(exc).__name__}: {exc}") from exc
