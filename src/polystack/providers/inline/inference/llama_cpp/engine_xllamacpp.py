"""The xllamacpp engine: llama.cpp's own server engine in-process, its slots decoding concurrent requests in one batch.

Generation goes through `Server.handle_completions` with a token-id prompt, streamed to a callback that
returns True to stop (llama.cpp then cancels the task and frees its slot). llama.cpp's HTTP listener
always starts with the engine: it listens on 127.0.0.1 on a random port behind a random API key, and
this engine uses it only for what the Python binding lacks (tokenize, detokenize, the model's facts).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import urllib.request
from pathlib import Path
from typing import Any

from polystack.apis.errors import InvalidRequestError, ProviderError
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

_TIMEOUT_S = 60.0
# llama.cpp calls the stream back only once the whole prompt is read, so a long prompt is read into the
# slot's cache in chunks first (n_predict 0), with a look at the stop flag between them: a cancelled
# request lets go of its slot within one chunk instead of after the whole prompt (tens of seconds).
PREFILL_CHUNK = 256


class XLlamaCppEngine:
    """One `xllamacpp.Server`: `slots` generations at once, each `sample` call blocking its own thread."""

    name: EngineName = "xllamacpp"

    def __init__(self, server: Any, key: str, slots: int, n_ctx: int) -> None:
        self.server = server
        self.slots = slots
        self._base = str(server.listening_address)
        self._headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.generations = 0
        self.sampled = 0  # tokens sampled since loading
        self._cached = 0  # prompt tokens the last request had read into its slot
        self.facts = self._read_facts(n_ctx)
        self._bos_id = self.tokenize(self.facts.bos, special=True)[0] if self.facts.bos else -1

    @classmethod
    def open(cls, path: Path, model: LlamaCppModelConfig, *, parallel: int, kv_unified: bool) -> XLlamaCppEngine:
        """Load the model and start its slots (blocking: about 0.5 s for SmolLM2)."""
        engine = cls._start(path, model, model.n_ctx or DEFAULT_N_CTX, parallel, kv_unified)
        trained = engine.facts.n_ctx_train
        if model.n_ctx is None and 0 < trained < engine.facts.n_ctx:
            logger.info("%s was trained on %d tokens of context; using that", path.name, trained)
            engine.close()
            engine = cls._start(path, model, trained, parallel, kv_unified)
        return engine

    @classmethod
    def _start(cls, path: Path, model: LlamaCppModelConfig, n_ctx: int, parallel: int,
               kv_unified: bool) -> XLlamaCppEngine:
        import xllamacpp

        threads = model.n_threads or usable_cores()
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_parallel = parallel
        params.kv_unified = kv_unified
        # Each request may use n_ctx tokens: shared by the slots when unified, else n_ctx per slot.
        params.n_ctx = n_ctx if kv_unified else n_ctx * parallel
        params.n_batch = model.n_batch
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.port = 0
        params.verbosity = -1
        key = secrets.token_hex(16)  # nobody else on this machine may use the listener
        params.api_keys = [key]
        if model.extra_buffers is False:
            params.no_extra_bufts = True
        return cls(xllamacpp.Server(params), key, parallel, n_ctx)

    # ---- the listener, for what the binding lacks --------------------------------------------------

    def _call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self._base + path, data=data, headers=self._headers)
        with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
            return json.loads(response.read())

    def _read_facts(self, n_ctx: int) -> ModelFacts:
        props = self._call("/props")
        meta = (self._call("/v1/models").get("data") or [{}])[0].get("meta") or {}
        return ModelFacts(
            n_ctx=n_ctx, n_ctx_train=int(meta.get("n_ctx_train") or n_ctx), n_vocab=int(meta["n_vocab"]),
            n_params=int(meta.get("n_params") or 0), quantization=str(props.get("model_ftype") or "unknown"),
            architecture=_architecture(Path(str(props.get("model_path") or ""))),
            chat_template=props.get("chat_template") or None,
            bos=str(props.get("bos_token") or ""), eos=str(props.get("eos_token") or ""),
        )

    def tokenize(self, text: str, *, special: bool = True) -> list[int]:
        bos = self.facts.bos
        add_bos = special and not (bos and text.startswith(bos))
        found = self._call("/tokenize", {"content": text, "add_special": add_bos, "parse_special": special})
        tokens = [int(token) for token in found["tokens"]]
        if not tokens and special and getattr(self, "_bos_id", -1) >= 0:
            tokens = [self._bos_id]  # an empty prompt still needs one token to condition on
        return tokens

    def detokenize(self, tokens: list[int]) -> str:
        return str(self._call("/detokenize", {"tokens": tokens})["content"])

    def check_grammar(self, grammar: str) -> bool:
        # llama.cpp parses the grammar when a request starts and refuses a bad one with a 400, which
        # `sample` raises; a parse here would take a slot.
        return True

    def busy(self) -> dict[str, Any]:
        """Counted here, not asked of llama.cpp (whose answer waits for its current batch)."""
        return {"generations": self.generations, "sampled": self.sampled, "cached_tokens": self._cached}

    def close(self) -> None:
        # xllamacpp stops its threads and frees the model when the Server is collected
        self.server = None

    # ---- generation --------------------------------------------------------------------------------

    def sample(self, prompt: list[int], params: SamplingParams, stop: threading.Event, on_piece: OnPiece) -> Ending:
        body = _request(prompt, params)
        state = {"counted": 0, "finish": None, "stopped": False, "error": None}

        def on_chunk(chunk: dict[str, Any]) -> bool:
            if "error" in chunk:
                state["error"] = chunk["error"]
                return True
            choice = (chunk.get("choices") or [{}])[0]
            entries = (choice.get("logprobs") or {}).get("content") or []
            text = choice.get("text") or ""
            tokens = len(entries) if entries else (1 if text else 0)
            if choice.get("finish_reason"):
                state["finish"] = choice["finish_reason"]
            if text or tokens:
                state["counted"] = int(state["counted"] or 0) + tokens
                self.sampled += tokens
                logprobs = tuple(_logprob(entry, params.top_logprobs or 0) for entry in entries) \
                    if params.top_logprobs is not None else ()
                if on_piece(Piece(text, tokens, logprobs)):
                    state["stopped"] = True
                    return True
            if stop.is_set():
                state["stopped"] = True
                return True
            return False

        self.generations += 1
        self._cached = 0
        if not self._prefill(prompt, stop):
            return "stopped"
        result = self.server.handle_completions(body, on_chunk)
        error = state["error"] or (result.get("error") if isinstance(result, dict) else None)
        if error:
            raise _error(error)
        if state["stopped"]:
            return "stopped"
        if state["finish"] == "length":
            missing = params.max_tokens - int(state["counted"] or 0)
            if missing > 0:  # tokens whose bytes joined a later piece (a character split across tokens)
                on_piece(Piece("", missing))
            return "limit"
        return "eog"


    def _prefill(self, prompt: list[int], stop: threading.Event) -> bool:
        """Read a long prompt into the cache chunk by chunk (a cached prefix costs nothing); False when stopped."""
        for end in range(PREFILL_CHUNK, len(prompt) - 1, PREFILL_CHUNK):
            if stop.is_set():
                return False
            result = self.server.handle_completions({"prompt": prompt[:end], "max_tokens": 0, "cache_prompt": True})
            if isinstance(result, dict) and result.get("error"):
                raise _error(result["error"])
            self._cached = end
        if stop.is_set():
            return False
        self._cached = len(prompt)
        return True


def _request(prompt: list[int], params: SamplingParams) -> dict[str, Any]:
    body: dict[str, Any] = {
        "prompt": prompt, "stream": True, "max_tokens": params.max_tokens, "temperature": params.temperature,
        "top_p": params.top_p, "top_k": params.top_k, "min_p": params.min_p,
        "repeat_penalty": params.repeat_penalty, "presence_penalty": params.presence_penalty,
        "frequency_penalty": params.frequency_penalty, "cache_prompt": True,
    }
    if params.seed is not None:
        body["seed"] = params.seed
    if params.grammar:
        body["grammar"] = params.grammar
    if params.logit_bias:
        body["logit_bias"] = [[token, bias] for token, bias in params.logit_bias.items()]
    if params.top_logprobs is not None:
        body["n_probs"] = max(params.top_logprobs, 1)  # 0: the sampled token's own logprob only
    return body


def _logprob(entry: dict[str, Any], top: int) -> TokenLogprob:
    alternatives = tuple((str(item.get("token", "")), bytes(item.get("bytes") or []), float(item["logprob"]))
                         for item in (entry.get("top_logprobs") or [])[:top])
    return TokenLogprob(str(entry.get("token", "")), bytes(entry.get("bytes") or []), float(entry["logprob"]),
                        alternatives)


def _error(error: Any) -> Exception:
    message = str(error.get("message") if isinstance(error, dict) else error)
    if isinstance(error, dict) and error.get("code") == 400:
        param = "response_format" if "grammar" in message else None
        return InvalidRequestError(f"llama.cpp refused the request: {message}", param=param)
    return ProviderError("llama-cpp", f"llama.cpp failed: {message}")


def _architecture(path: Path) -> str | None:
    """general.architecture from the GGUF header: the first key-value pair of every GGUF file written by llama.cpp."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return None
    key = b"general.architecture"
    at = head.find(key)
    if at < 0 or head[:4] != b"GGUF":
        return None
    value_at = at + len(key) + 4  # the value's type (uint32: 8, a string)
    size = int.from_bytes(head[value_at:value_at + 8], "little")
    return head[value_at + 8:value_at + 8 + size].decode("utf-8", errors="replace") or None
