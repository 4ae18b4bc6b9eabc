"""`POST /v1/responses/compact`: a long conversation compacted into its user messages and one compaction item.

The conversation is the chain of a previous response (each stored response's input and output, oldest
first) followed by the request's input items. As OpenAI defines the result, the user messages are kept
verbatim, in order, followed by a single `compaction` item: the model's summary of the whole conversation
(what the assistant said, did and found: its answers, tool calls and their results, earlier compactions).
The item's `encrypted_content` is opaque to the client (compacted.py); sent back as input to a later
response, the engine turns it into context (a system message holding the summary).
"""

from __future__ import annotations

import time
from typing import Any

from polystack.apis.errors import InvalidRequestError, NotFoundError, PolystackError
from polystack.apis.inference.types import ChatCompletion, ChatCompletionRequest
from polystack.apis.responses.items import (
    Compaction,
    InputItem,
    Item,
    Message,
    new_item_id,
    normalize_items,
    parse_items,
)
from polystack.apis.responses.types import CompactedResponse, CompactRequest, Usage
from polystack.core.responses.compacted import encode_summary
from polystack.core.responses.context import ChatMessage, MessageList, parse_input
from polystack.core.responses.engine import ResponsesEngine, new_response_id

MAX_CHAIN = 1000  # responses followed back from previous_response_id
SUMMARY_PROMPT = (
    "You compact a conversation between a user and an assistant so that it can be continued from your summary. "
    "The user's messages are kept verbatim elsewhere; write a concise summary of everything else: what the "
    "assistant answered, the tools it called with their results, decisions made and questions still open. "
    "Keep every fact, name, number and identifier needed to continue. Write only the summary."
)


class Compactor:
    """Compacts conversations with the request's model, over the engine's inference and store."""

    def __init__(self, engine: ResponsesEngine) -> None:
        self.engine = engine

    async def compact(self, request: CompactRequest) -> CompactedResponse:
        items: list[InputItem] = []
        if request.previous_response_id is not None:
            items += await self._chain(request.previous_response_id)
        if request.input is not None:
            items += parse_input(request.input)
        if not items:
            raise InvalidRequestError("Nothing to compact: give 'input' items and/or a 'previous_response_id'",
                                      param="input")
        context = MessageList()
        context.extend(items)  # refuses what cannot be context (e.g. item_reference), with a 400
        kept = [item for item in normalize_items(items)  # type: ignore[arg-type]  # item_reference refused above
                if isinstance(item, Message) and item.role == "user"]
        summary, usage = await self._summarize(request, context.messages)
        compaction = Compaction(id=new_item_id("compaction"), encrypted_content=encode_summary(summary))
        output: list[Item] = [*kept, compaction]
        return CompactedResponse(id=new_response_id(), created_at=int(time.time()), output=output, usage=usage)

    async def _chain(self, response_id: str) -> list[InputItem]:
        """The items of the response chain ending at `response_id`, oldest first (a deleted ancestor ends it)."""
        store = self.engine.store
        if store is None:
            raise NotFoundError(f"No response with id '{response_id}' found.", param="previous_response_id")
        rows = [await store.row(response_id, param="previous_response_id")]
        while (earlier := rows[-1]["response"].get("previous_response_id")) and len(rows) < MAX_CHAIN:
            try:
                rows.append(await store.row(earlier))
            except NotFoundError:
                break
        raw: list[dict[str, Any]] = []
        for row in reversed(rows):
            raw += row["input_items"] + row["response"]["output"]
        return parse_items(raw)

    async def _summarize(self, request: CompactRequest, messages: list[ChatMessage]) -> tuple[str, Usage]:
        prompt = SUMMARY_PROMPT + (f"\n\n{request.instructions}" if request.instructions else "")
        completion = await self.engine.inference.chat_completion(ChatCompletionRequest.model_validate({
            "model": request.model, "stream": False, "store": False,
            "messages": [{"role": "system", "content": prompt}, {"role": "user", "content": transcript(messages)}],
        }))
        if not isinstance(completion, ChatCompletion) or not completion.choices:
            raise PolystackError("the model gave no summary of the conversation")
        usage = Usage()
        if completion.usage is not None:
            usage.add(completion.usage.prompt_tokens, completion.usage.completion_tokens)
        return completion.choices[0].message.content or "", usage


def transcript(messages: list[ChatMessage]) -> str:
    """The conversation as the text the summarizing model reads: one line per message, call and result."""
    lines: list[str] = []
    for message in messages:
        role, content = message["role"], message.get("content")
        if isinstance(content, str):
            text = content
        else:
            text = " ".join(part.get("text", "") if part.get("type") == "text" else f"[{part.get('type')}]"
                            for part in content or [])
        if role == "tool":
            lines.append(f"Tool result ({message.get('tool_call_id')}): {text}")
            continue
        if text:
            lines.append(f"{role.capitalize()}: {text}")
        for call in message.get("tool_calls", []):
            lines.append(f"Assistant called {call['function']['name']}({call['function']['arguments']})")
    return "\n".join(lines)
