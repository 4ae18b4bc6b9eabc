"""ServedModel: a loaded model with its name, prompt format, runner and the token arithmetic requests need."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from polystack.apis.errors import InvalidRequestError
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
    def llama(self) -> Any:
        return self.runner.llama

    @property
    def n_ctx(self) -> int:
        return int(self.llama.n_ctx())

    @property
    def n_vocab(self) -> int:
        return int(self.llama.n_vocab())

    def tokenize(self, text: str) -> list[int]:
        """Tokens of a prompt, special tokens (<|im_start|>...) included, with BOS if the model wants one.

        llama.cpp tokenisation only reads the vocabulary, so it is safe beside a running generation.
        """
        llama = self.llama
        bos_id = llama.token_bos()
        bos_text = llama._model.token_get_text(bos_id) if bos_id >= 0 else ""
        add_bos = bool(llama._model.add_bos_token()) and not (bos_text and text.startswith(bos_text))
        tokens: list[int] = llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
        if not tokens and bos_id >= 0:
            tokens = [bos_id]  # an empty prompt still needs one token to condition on
        return tokens

    def detokenize(self, tokens: list[int]) -> str:
        return bytes(self.llama.detokenize(tokens, special=True)).decode("utf-8", errors="replace")

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
