"""ServedModel: a loaded model: its name, prompt format, runner and engine, and the token arithmetic of requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from polystack.apis.errors import InvalidRequestError
from polystack.providers.inline.inference.llama_cpp.engine import Engine
from polystack.providers.inline.inference.llama_cpp.prompts import PromptFormat
from polystack.providers.inline.inference.llama_cpp.runner import ModelRunner


@dataclass
class ServedModel:
    name: str
    runner: ModelRunner[Any]
    prompt_format: PromptFormat
    metadata: dict[str, Any]
    max_parallel_tool_calls: int = 1
    answer_after_tool_results: bool = True

    @property
    def engine(self) -> Engine:
        engine: Engine = self.runner.engine
        return engine

    @property
    def n_ctx(self) -> int:
        return self.engine.facts.n_ctx

    @property
    def n_vocab(self) -> int:
        return self.engine.facts.n_vocab

    def tokenize(self, text: str) -> list[int]:
        """Tokens of a prompt, special tokens (<|im_start|>...) included, with BOS if the model wants one."""
        return self.engine.tokenize(text, special=True)

    def detokenize(self, tokens: list[int]) -> str:
        return self.engine.detokenize(tokens)

    def budget(self, prompt_tokens: int, max_tokens: int | None, *, param: str) -> int:
        """How many tokens may be generated after a prompt; a prompt that cannot fit is a 400."""
        room = self.n_ctx - prompt_tokens
        if room <= 0 or (max_tokens is not None and max_tokens > room):
            wanted = f" and {max_tokens} to generate" if max_tokens is not None else ""
            raise InvalidRequestError(
                f"this model's context is {self.n_ctx} tokens; the request needs {prompt_tokens} for the "
                f"prompt{wanted}. Shorten the input or lower max_tokens.",
                param=param, code="context_length_exceeded",
            )
        return room if max_tokens is None else max_tokens
