"""The llama-cpp-python engine: one in-process `Llama`, one generation at a time, sampled token by token in Python."""

from __future__ import annotations

import codecs
import logging
import random
import threading
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np

from polystack.providers.inline.inference.llama_cpp.config import EngineName, LlamaCppModelConfig
from polystack.providers.inline.inference.llama_cpp.engine import (
    DEFAULT_N_CTX,
    Ending,
    ModelFacts,
    OnPiece,
    Piece,
    TokenLogprob,
    usable_cores,
)
from polystack.providers.inline.inference.llama_cpp.sampling import SamplingParams

logger = logging.getLogger("polystack.providers")

_PARAMS_LOCK = threading.Lock()
# Prompt tokens evaluated between two looks at the stop flag: llama.cpp cannot be interrupted inside
# an evaluation, and a 3,000-token prompt takes tens of seconds on two busy cores.
PREFILL_CHUNK = 64


def extra_buffers_safe() -> bool:
    """False when llama.cpp was built with AMX and the CPU advertises it.

    Some virtual machines (Firecracker among them) report AMX but fault on its first instruction,
    killing the process; without the extra buffers llama.cpp never takes the AMX path.
    """
    import llama_cpp

    built_with_amx = b"AMX_INT8 = 1" in llama_cpp.llama_print_system_info()
    try:
        cpu_flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return True
    return not (built_with_amx and "amx_int8" in cpu_flags)


class LlamaCppPythonEngine:
    """A `Llama` is not thread-safe: the runner gives it one slot, so one thread uses it at a time."""

    name: EngineName = "llama-cpp-python"
    slots = 1

    def __init__(self, llama: Any) -> None:
        self.llama = llama
        self.facts = _facts(llama)
        self.generations = 0
        self.sampled = 0  # tokens sampled since loading

    @classmethod
    def open(cls, path: Path, model: LlamaCppModelConfig) -> LlamaCppPythonEngine:
        """Load the model (blocking: 0.2 s for SmolLM2, a few seconds for Qwen)."""
        llama = _load(path, model, model.n_ctx or DEFAULT_N_CTX)
        trained = llama._model.n_ctx_train()
        if model.n_ctx is None and 0 < trained < llama.n_ctx():
            logger.info("%s was trained on %d tokens of context; using that", path.name, trained)
            llama.close()
            llama = _load(path, model, trained)
        return cls(llama)

    def tokenize(self, text: str, *, special: bool = True) -> list[int]:
        """llama.cpp tokenisation only reads the vocabulary, so it is safe beside a running generation."""
        llama = self.llama
        if not special:
            return list(llama.tokenize(text.encode(), add_bos=False, special=False))
        bos_id = llama.token_bos()
        bos_text = llama._model.token_get_text(bos_id) if bos_id >= 0 else ""
        add_bos = bool(llama._model.add_bos_token()) and not (bos_text and text.startswith(bos_text))
        tokens: list[int] = llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
        if not tokens and bos_id >= 0:
            tokens = [bos_id]  # an empty prompt still needs one token to condition on
        return tokens

    def detokenize(self, tokens: list[int]) -> str:
        return bytes(self.llama.detokenize(tokens, special=True)).decode("utf-8", errors="replace")

    def check_grammar(self, grammar: str) -> bool:
        import llama_cpp

        sampler = llama_cpp.llama_sampler_init_grammar(self.llama._model.vocab, grammar.encode(), b"root")
        if not sampler:
            return False
        llama_cpp.llama_sampler_free(sampler)
        return True

    def busy(self) -> dict[str, Any]:
        return {"generations": self.generations, "sampled": self.sampled, "cached_tokens": int(self.llama.n_tokens)}

    def close(self) -> None:
        self.llama.close()

    def sample(self, prompt: list[int], params: SamplingParams, stop: threading.Event, on_piece: OnPiece) -> Ending:
        import llama_cpp

        llama = self.llama
        self.generations += 1
        if not prefill(llama, prompt, stop):
            return "stopped"
        vocab = llama._model.vocab
        recorder = _LogprobRecorder(params.top_logprobs) if params.top_logprobs is not None else None
        tokens = _token_stream(llama, prompt, params, recorder)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        count = 0
        try:
            for token in tokens:
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    return "eog"
                count += 1
                self.sampled += 1
                piece_bytes = llama.detokenize([token], special=True)
                logprobs = (_logprob_of(llama, token, piece_bytes, recorder),) if recorder is not None else ()
                if on_piece(Piece(decoder.decode(piece_bytes), 1, logprobs)):
                    return "stopped"
                if count >= params.max_tokens:
                    return "limit"
                if stop.is_set():
                    return "stopped"
        finally:
            tokens.close()
            tail = decoder.decode(b"", final=True)
            if tail:
                on_piece(Piece(tail, 0))
        return "eog"


def _facts(llama: Any) -> ModelFacts:
    vocab = llama._model

    def text(token: int) -> str:
        return str(vocab.token_get_text(token)) if token >= 0 else ""

    desc = str(vocab.desc())  # "<arch> <size> <quantisation>", e.g. "llama 256M Q4_1"
    parts = desc.split(" ", 2)
    return ModelFacts(
        n_ctx=int(llama.n_ctx()), n_ctx_train=int(vocab.n_ctx_train()), n_vocab=int(llama.n_vocab()),
        n_params=int(vocab.n_params()), quantization=parts[2] if len(parts) == 3 else desc,
        architecture=llama.metadata.get("general.architecture"),
        chat_template=llama.metadata.get("tokenizer.chat_template"),
        bos=text(llama.token_bos()), eos=text(llama.token_eos()),
    )


def _load(path: Path, model: LlamaCppModelConfig, n_ctx: int) -> Any:
    import llama_cpp.llama as llama_module

    threads = model.n_threads or usable_cores()
    kwargs: dict[str, Any] = dict(model_path=str(path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads,
                                  n_batch=model.n_batch, verbose=False)
    use_extra = model.extra_buffers if model.extra_buffers is not None else extra_buffers_safe()
    if use_extra:
        return llama_module.Llama(**kwargs)
    # Llama() takes no switch for this model parameter, so its default is overridden while it loads.
    with _PARAMS_LOCK:
        original = llama_module.llama_cpp.llama_model_default_params

        def without_extra_buffers() -> Any:
            params = original()
            params.use_extra_bufts = False
            return params

        llama_module.llama_cpp.llama_model_default_params = without_extra_buffers
        try:
            return llama_module.Llama(**kwargs)
        finally:
            llama_module.llama_cpp.llama_model_default_params = original


# ---- the token loop -------------------------------------------------------------------------------------


class _LogprobRecorder:
    """A llama-cpp logits processor that keeps each step's log-softmax (it sees the raw logits)."""

    def __init__(self, top: int) -> None:
        self.top = top
        self.last: np.ndarray[Any, Any] = np.zeros(0, dtype=np.float32)

    def __call__(self, input_ids: Any, scores: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        values = scores.astype(np.float64)
        values -= values.max()
        self.last = (values - np.log(np.exp(values).sum())).astype(np.float32)
        return scores


class _LogitBias:
    def __init__(self, bias: dict[int, float]) -> None:
        self.ids = np.array(list(bias), dtype=np.int64)
        self.values = np.array(list(bias.values()), dtype=np.float32)

    def __call__(self, input_ids: Any, scores: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        scores[self.ids] += self.values
        return scores


def prefill(llama: Any, prompt: list[int], stop_flag: threading.Event) -> bool:
    """Evaluate all but the prompt's last token in small chunks, looking at `stop_flag` between them.

    `Llama.generate` then finds them cached and evaluates only the last token. Returns False when
    stopped. A prefix already in the cache (the same conversation, one turn longer) is kept.
    """
    target = len(prompt) - 1
    cached = 0
    for have, want in zip(llama.input_ids[: min(llama.n_tokens, target)], prompt, strict=False):
        if int(have) != want:
            break
        cached += 1
    if cached >= target:
        return True
    if not llama._ctx.kv_cache_seq_rm(-1, cached, -1):  # a model whose cache cannot be cut: generate() resets
        return not stop_flag.is_set()
    llama.n_tokens = cached
    for start in range(cached, target, PREFILL_CHUNK):
        if stop_flag.is_set():
            return False
        llama.eval(prompt[start:min(target, start + PREFILL_CHUNK)])
    return not stop_flag.is_set()


def _token_stream(llama: Any, prompt: list[int], params: SamplingParams,
                  recorder: _LogprobRecorder | None) -> Generator[int, Any, None]:
    """llama-cpp's token generator, set up with the request's sampling chain (and seed)."""
    import llama_cpp

    llama.set_seed(params.seed if params.seed is not None else random.randrange(2**31))
    processors: list[Any] = [_LogitBias(params.logit_bias)] if params.logit_bias else []
    if recorder is not None:
        processors.append(recorder)
    grammar = llama_cpp.LlamaGrammar.from_string(params.grammar, verbose=False) if params.grammar else None
    tokens: Generator[int, Any, None] = llama.generate(
        prompt, temp=params.temperature, top_p=params.top_p, top_k=params.top_k, min_p=params.min_p,
        repeat_penalty=params.repeat_penalty, presence_penalty=params.presence_penalty,
        frequency_penalty=params.frequency_penalty, grammar=grammar,
        logits_processor=llama_cpp.LogitsProcessorList(processors) if processors else None,
    )
    return tokens


def _logprob_of(llama: Any, token: int, piece: bytes, recorder: _LogprobRecorder) -> TokenLogprob:
    step = recorder.last
    top: tuple[tuple[str, bytes, float], ...] = ()
    if recorder.top > 0:
        best = np.argpartition(-step, recorder.top)[: recorder.top]
        best = best[np.argsort(-step[best])]
        top = tuple(_entry(llama, int(candidate), float(step[candidate])) for candidate in best)
    return TokenLogprob(piece.decode("utf-8", errors="replace"), piece, float(step[token]), top)


def _entry(llama: Any, token: int, logprob: float) -> tuple[str, bytes, float]:
    raw = llama.detokenize([token], special=True)
    return raw.decode("utf-8", errors="replace"), raw, logprob
