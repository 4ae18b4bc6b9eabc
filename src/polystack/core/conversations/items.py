"""Conversation items in and out: input checked with errors naming `items[i].field`, and `include` applied."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from polystack.apis.errors import InvalidRequestError
from polystack.apis.responses import items as vocabulary
from polystack.apis.responses.items import InputItem, parse_items

# the `type` tags of the item and content unions: pydantic puts them in an error's location after the index
_TAGS = frozenset(
    obj.model_fields["type"].default for obj in vars(vocabulary).values()
    if isinstance(obj, type) and issubclass(obj, BaseModel) and "type" in obj.model_fields
)
_UNION_NOISE = ("str", "list[", "function-")


def _path(field: str, loc: Sequence[int | str]) -> str:
    """items[0].content[1].text from pydantic's (0, 'message', 'content', 1, 'input_text', 'text')."""
    path = field
    for position, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
        elif position > 0 and isinstance(loc[position - 1], int) and part in _TAGS:
            continue
        elif part.startswith(_UNION_NOISE):
            continue
        else:
            path += f".{part}"
    return path


def check_items(raw: Iterable[Any], field: str = "items") -> list[InputItem]:
    """Input items validated; InvalidRequestError naming the first bad item's field (`items[2].role`)."""
    try:
        return parse_items(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = error.get("loc", ())
        if error["type"] == "union_tag_not_found":
            param = _path(field, loc) + ".type"
            raise InvalidRequestError(f"Missing required parameter: '{param}' (or 'role', for a message).",
                                      param=param) from None
        param = _path(field, loc) + (".type" if error["type"] == "union_tag_invalid" else "")
        raise InvalidRequestError(f"Invalid value for '{param}': {error['msg']}.", param=param) from None


def shown(item: dict[str, Any], include: Iterable[str]) -> dict[str, Any]:
    """The item as a list or retrieve returns it: data OpenAI sends only when included is left out."""
    wanted = set(include)
    kind = item.get("type")
    if kind == "file_search_call" and "file_search_call.results" not in wanted and item.get("results") is not None:
        return {**item, "results": None}
    if kind == "reasoning" and "reasoning.encrypted_content" not in wanted and item.get("encrypted_content"):
        return {**item, "encrypted_content": None}
    if kind == "web_search_call" and "web_search_call.action.sources" not in wanted:
        action = item.get("action")
        if isinstance(action, dict) and action.get("sources") is not None:
            return {**item, "action": {**action, "sources": None}}
    if kind == "message" and "message.output_text.logprobs" not in wanted:
        parts = item.get("content")
        if isinstance(parts, list) and any(isinstance(p, dict) and p.get("logprobs") for p in parts):
            return {**item, "content": [{**p, "logprobs": []} if isinstance(p, dict) and p.get("logprobs") else p
                                        for p in parts]}
    return item
