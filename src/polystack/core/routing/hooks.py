"""Inference hooks: the one chain of code that runs around every inference call (guardrails, quotas, metering).

How the seam works, for a newcomer:

- An `InferenceHook` has three steps (subclass `HookBase` to write only the ones it needs).
  `before(call)` runs once the model is resolved, before the provider is called; it may return a
  changed request, or raise a `PolystackError` to refuse (the caller gets that error's 4xx in OpenAI's
  shape). `on_chunk(call, chunk)` sees each streamed chunk the caller is about to get; it returns the
  chunk (maybe changed), None to drop it, or raises to stop the stream (the caller gets an error event).
  A hook with nothing to do on a call's chunks is not asked for them: one that does not override
  `on_chunk`, or whose `watches_chunks(call)` (optional, asked once `before` ran) says False; a stream
  no hook watches costs the chain nothing per chunk. `call.first_token_at` (perf_counter) is when the
  first chunk with choices arrived, so a hook need not watch chunks only to time it.
  `after(call)` runs exactly once for every call whose `before` ran, when it ends: `call.usage` holds the
  token usage (streams too: the router always asks the upstream for it), `call.result` the non-streamed
  result, `call.error` what went wrong, if anything.
- A hook may answer a call itself: `before` raises `HookAnswer(result)` (a guard refusing with a chat
  completion, or for a stream an async iterator of chunks); the provider is not called, the hooks after it
  do not run, and the answer is relayed, stored and accounted as the provider's would be. `on_chunk` may
  end a stream cleanly with `StopStream(last)`: `last` (a chunk, or None) is the caller's final chunk, the
  upstream is closed, and the call ends normally. `after` may amend a non-streamed `call.result` in place:
  it runs before the result is stored and returned.
- The chain is a plain list, run in order for every step. `InferenceRouter.hooks` holds it; the stack fills
  it from `inference_hooks` in the run config (each `module:factory`, called as `await factory(config,
  impls)`), and later APIs may `add()` hooks of their own at startup. An empty chain costs nothing: the
  router checks `if self.hooks` once per call and takes the path it took before hooks existed.
- Hooks sit above the router, so a guard may call inference itself (through the stack's router, as any
  caller would). Its call passes only through the hooks *after* it in the chain, never through itself
  or those before it: no cycle, and a metering hook placed after a guard counts the guard's tokens too.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel

from polystack.apis.datatypes import User
from polystack.apis.models.types import Model
from polystack.core.errors import StackError

CallKind = Literal["chat_completion", "completion", "embeddings"]

# While hook number i runs, inference calls it makes start the chain at i + 1 (see the module docstring).
_first_hook: ContextVar[int] = ContextVar("inference_first_hook", default=0)


class StreamAbandoned(Exception):
    """`call.error` when the caller stopped reading a stream before its end (it disconnected, or broke off)."""


class HookAnswer(Exception):
    """Raised by a hook's `before` to answer the call itself with `result` (see the module docstring)."""

    def __init__(self, result: Any) -> None:
        super().__init__("answered by an inference hook")
        self.result = result


class StopStream(Exception):
    """Raised by a hook's `on_chunk` to end a stream cleanly, `last` being the caller's final chunk."""

    def __init__(self, last: Any | None = None) -> None:
        super().__init__("stream ended by an inference hook")
        self.last = last


class InferenceCall:
    """One inference call as hooks see it; `data` is scratch space a hook keeps between its steps."""

    __slots__ = ("kind", "request", "model", "user", "stream", "usage", "result", "error", "data", "_entered",
                 "_start", "_hooks", "_chunk_hooks", "first_token_at")

    def __init__(self, kind: CallKind, request: Any, model: Model, user: User | None) -> None:
        self.kind = kind
        self.request = request  # as the caller sent it (model named as the caller named it)
        self.model = model  # the resolved model: identifier, provider_id, provider_resource_id
        self.user = user
        self.stream: bool = bool(getattr(request, "stream", False))
        self.usage: Any = None  # the call's usage object (prompt_tokens, completion_tokens, total_tokens)
        self.result: Any = None  # the whole result of a non-streamed call
        self.error: BaseException | None = None
        self.data: dict[str, Any] = {}
        self._entered = 0  # how many hooks' `before` ran: only they get `after`
        self._start = 0  # the chain position of this call's first hook
        self._hooks: tuple[InferenceHook, ...] = ()
        self._chunk_hooks: tuple[tuple[int, InferenceHook], ...] = ()  # (chain position, hook) watching chunks
        self.first_token_at: float | None = None  # set by the router at the first chunk with choices

    @property
    def watched(self) -> bool:
        """Whether any hook of the call watches its chunks (known once `before` ran)."""
        return bool(self._chunk_hooks)


@runtime_checkable
class InferenceHook(Protocol):
    """Code run around inference calls: all three steps (subclass HookBase to write only those you need)."""

    async def before(self, call: InferenceCall) -> BaseModel | None:
        """Check or change the request before the provider sees it: a request replaces it, None keeps it."""

    async def on_chunk(self, call: InferenceCall, chunk: Any) -> Any | None:
        """A streamed chunk on its way to the caller: return it (or another), None to drop it, raise to stop."""

    async def after(self, call: InferenceCall) -> None:
        """The call ended (usage, result or error are set); errors raised here are the caller's error."""


class HookBase:
    """No-op steps, so a hook implements only the steps it needs."""

    async def before(self, call: InferenceCall) -> BaseModel | None:
        return None

    async def on_chunk(self, call: InferenceCall, chunk: Any) -> Any | None:
        return chunk

    async def after(self, call: InferenceCall) -> None:
        return None


class HookChain:
    """The ordered hooks of one router; falsy when empty, so the router can skip it for free."""

    def __init__(self, hooks: list[InferenceHook] | None = None) -> None:
        self._hooks: list[InferenceHook] = list(hooks or [])

    def add(self, hook: InferenceHook) -> None:
        """Append a hook (at startup: calls under way keep the chain they started with)."""
        self._hooks.append(hook)

    def __bool__(self) -> bool:
        return bool(self._hooks) and _first_hook.get() < len(self._hooks)

    def __len__(self) -> int:
        return len(self._hooks)

    async def before(self, call: InferenceCall) -> Any:
        """Run every `before` in order; the request they leave (the caller's, or one a hook gave back)."""
        start = call._start = _first_hook.get()
        call._hooks = tuple(self._hooks[start:])
        for offset, hook in enumerate(call._hooks):
            try:
                replaced = await _as_hook(start + offset + 1, hook.before, call)
            except HookAnswer:
                call._entered += 1  # it answered: its `after` runs; the hooks after it never saw the call
                call._hooks = call._hooks[: call._entered]
                _choose_chunk_hooks(call)
                raise
            call._entered += 1
            if replaced is not None:
                call.request = replaced
        _choose_chunk_hooks(call)
        return call.request

    @staticmethod
    async def on_chunk(call: InferenceCall, chunk: Any) -> Any | None:
        for position, hook in call._chunk_hooks:
            chunk = await _as_hook(position, hook.on_chunk, call, chunk)
            if chunk is None:
                return None
        return chunk

    @staticmethod
    async def after(call: InferenceCall) -> None:
        """Run `after` of every hook whose `before` ran, all of them even if one fails; then raise the first failure."""
        start = call._start
        failure: BaseException | None = None
        for offset, hook in enumerate(call._hooks[: call._entered]):
            try:
                await _as_hook(start + offset + 1, hook.after, call)
            except Exception as exc:  # noqa: BLE001 - the others still account for the call
                failure = failure or exc
        if failure is not None:
            raise failure


def _choose_chunk_hooks(call: InferenceCall) -> None:
    """The hooks of the call that watch its chunks, with the chain position their own calls start after."""
    start = call._start
    call._chunk_hooks = tuple((start + offset + 1, hook) for offset, hook in enumerate(call._hooks)
                              if _watches_chunks(hook, call))


def _watches_chunks(hook: InferenceHook, call: InferenceCall) -> bool:
    watches: Callable[[InferenceCall], bool] | None = getattr(hook, "watches_chunks", None)
    if watches is not None:
        return watches(call)
    return getattr(type(hook), "on_chunk", None) is not HookBase.on_chunk


async def _as_hook(first: int, step: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """Run one hook step so that inference it calls starts the chain after this hook."""
    token = _first_hook.set(first)
    try:
        return await step(*args)
    finally:
        _first_hook.reset(token)


HookFactory = Callable[[dict[str, Any], Mapping[str, object]], Awaitable[InferenceHook]]


async def load_hook(factory: str, config: dict[str, Any], impls: Mapping[str, object]) -> InferenceHook:
    """The hook made by `factory` ("package.module:function", an async `(config, impls) -> hook`)."""
    module_name, _, attr = factory.partition(":")
    try:
        make: HookFactory = getattr(importlib.import_module(module_name), attr or "create")
    except (ImportError, AttributeError) as exc:
        raise StackError(f"inference hook '{factory}' cannot be loaded: {exc}") from None
    hook = await make(config, impls)
    if not isinstance(hook, InferenceHook):
        raise StackError(f"inference hook '{factory}' made a {type(hook).__name__}, which has no before/on_chunk/after")
    return hook
