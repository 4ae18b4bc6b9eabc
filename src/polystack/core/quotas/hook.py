"""The quota inference hook: virtual keys' models and budget, and the quota rules, around every call.

`before`: a model the key may not use is absent (404, as a forbidden read); a key whose token budget is
spent gets 429 `insufficient_quota`; then the rules' and the key's windows are checked (a spent token
window refuses, request windows count the call). `after`: the call's tokens (from usage, streams
included: the router always asks the upstream for it) are added to the token windows and to the key's
usage and spend; a call that failed before usage counts its request only.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from polystack.apis.errors import ModelNotFoundError, QuotaExceededError
from polystack.core.access.policy import SYSTEM_PRINCIPAL
from polystack.core.keys.store import KeyStore
from polystack.core.quotas.enforcer import Bucket, QuotaEnforcer, buckets_of
from polystack.core.request_context import request_context
from polystack.core.routing.hooks import HookBase, InferenceCall


class QuotaHook(HookBase):
    def __init__(self, enforcer: QuotaEnforcer | None, keys: KeyStore | None) -> None:
        self.enforcer = enforcer
        self.keys = keys

    async def before(self, call: InferenceCall) -> BaseModel | None:
        key_id = request_context().key_id
        if call._start > 0 or (call.user is not None and call.user.principal == SYSTEM_PRINCIPAL):
            # a call an earlier hook makes (a guard model) or the server's own: its tokens go to the caller's
            # key usage, but it is not refused for the key's models, nor counted under the caller's rules (its
            # request was) or under one "system" principal shared by every caller
            if key_id is not None:
                call.data["quota.key"] = key_id
            return None
        buckets: list[Bucket] = []
        if key_id is not None and self.keys is not None:
            record = self.keys.record(key_id)
            if record is not None:
                call.data["quota.key"] = key_id
                asked = getattr(call.request, "model", None) or call.model.identifier
                if record.allowed_models is not None and call.model.identifier not in record.allowed_models:
                    raise ModelNotFoundError(str(asked))
                if record.budget_tokens is not None and await self.keys.spent(key_id) >= record.budget_tokens:
                    raise QuotaExceededError(f"The budget of key '{key_id}' ({record.budget_tokens} tokens) is "
                                             "spent.", code="insufficient_quota")
                if record.quota is not None:
                    buckets += buckets_of(record.quota, f"key|{key_id}", f"quota of key '{key_id}'")
        if self.enforcer is not None:
            buckets += self.enforcer.rule_buckets(call.user, key_id, call.model.identifier)
            if buckets:
                call.data["quota.buckets"] = buckets
                await self.enforcer.admit(buckets)
        elif buckets:
            raise RuntimeError("a key quota needs the quota enforcer")  # serving always makes one with keys
        return None

    async def after(self, call: InferenceCall) -> None:
        tokens_in, tokens_out = _tokens(call.usage)
        buckets: list[Bucket] | None = call.data.get("quota.buckets")
        if buckets and self.enforcer is not None and tokens_in + tokens_out:
            await self.enforcer.spend(buckets, tokens_in + tokens_out)
        key_id = call.data.get("quota.key")
        if key_id is not None and self.keys is not None:
            await self.keys.record_usage(key_id, call.model.identifier, tokens_in, tokens_out)


def _tokens(usage: Any) -> tuple[int, int]:
    if usage is None:
        return 0, 0
    prompt = getattr(usage, "prompt_tokens", None)
    completion = getattr(usage, "completion_tokens", None)
    if isinstance(usage, dict):
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    prompt, completion = int(prompt or 0), int(completion or 0)
    if not prompt and not completion:
        total = usage.get("total_tokens") if isinstance(usage, dict) else getattr(usage, "total_tokens", 0)
        prompt = int(total or 0)
    return prompt, completion
