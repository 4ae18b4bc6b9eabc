"""`rewrite_query` of vector store search: a chat model turns a question into a better search query.

As in Llama Stack, the model is the server's choice (vector_stores.default_query_expansion_model),
not the caller's. A rewrite is an optional improvement: if the model fails or answers nothing
usable, the search goes on with the caller's own query (and the failure is logged).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable

from polystack.apis.errors import InvalidRequestError, NotFoundError
from polystack.apis.inference.protocol import Inference
from polystack.apis.inference.types import ChatCompletionRequest
from polystack.core.request_context import as_system
from polystack.core.vector_stores.ingestion import TRANSIENT

logger = logging.getLogger("polystack.vector_io")

DEFAULT_PROMPT = (
    "You turn questions into short keyword queries for a document search engine. Keep the key terms and "
    "names, add close synonyms, drop filler words. Do not answer the question. Reply with the keywords only, "
    "on one line."
)
# Worked examples shown to the model before the real question: small models follow examples better than rules.
EXAMPLES = (
    ("How do I reset my password if I forgot it?", "password reset forgotten password recovery"),
    ("what did the company earn last year", "annual revenue earnings last year financial results"),
)
# Small models like to prefix their answer; these are cut off.
_LEADS = ("search query:", "query:", "rewritten query:")


class QueryRewriter:
    def __init__(self, inference: Inference, model: str | None, *, prompt: str | None = None, max_tokens: int = 100,
                 temperature: float = 0.3) -> None:
        self.inference = inference
        self.model = model
        self.prompt = prompt or DEFAULT_PROMPT
        self.max_tokens = max_tokens
        self.temperature = temperature

    def _require_model(self) -> None:
        if not self.model:
            raise InvalidRequestError(
                "rewrite_query needs a query expansion model, and this server has none: set "
                "vector_stores.default_query_expansion_model in its config, or search without rewrite_query",
                param="rewrite_query")

    async def rewrite(self, query: str) -> str:
        """The rewritten query, or `query` itself when the model gives nothing usable."""
        self._require_model()
        assert self.model is not None
        examples = EXAMPLES if self.prompt == DEFAULT_PROMPT else ()  # a custom prompt brings its own
        shots = [{"role": role, "content": text} for pair in examples
                 for role, text in zip(("user", "assistant"), pair, strict=True)]
        request = ChatCompletionRequest.model_validate({
            "model": self.model, "max_tokens": self.max_tokens, "temperature": self.temperature, "store": False,
            "stop": ["\n"], "messages": [{"role": "system", "content": self.prompt}, *shots,
                                         {"role": "user", "content": query}]})
        try:
            with as_system():  # the server's own call, with the server's model: not the caller's to allow
                completion = await self.inference.chat_completion(request)
        except NotFoundError as exc:  # a config mistake of the server's, said as such
            raise InvalidRequestError(f"rewrite_query: the server's query expansion model '{self.model}' is not "
                                      f"available: {exc.message}", param="rewrite_query") from None
        except TRANSIENT as exc:
            logger.warning("query rewrite with %s failed, searching the original query: %s", self.model, exc)
            return query
        if isinstance(completion, AsyncIterable):  # the request does not stream
            raise TypeError("a non-streamed chat completion came back as a stream")
        return _cleaned(completion.choices[0].message.content or "") or query


def _cleaned(text: str) -> str:
    line = next((line.strip() for line in text.strip().splitlines() if line.strip()), "")
    if line.lower().startswith(_LEADS):
        line = line.split(":", 1)[1].strip()
    return line.strip("\"'` ").strip()
