"""Conversation item input errors name `items[i].field`; `include` decides what a listed item shows."""

from __future__ import annotations

from typing import Any

import pytest

from polystack.apis.errors import InvalidRequestError
from polystack.core.conversations.items import check_items, shown


@pytest.mark.parametrize(("items", "param"), [
    ([{"role": "user", "content": "ok"}, {"role": "robot", "content": "hi"}], "items[1].role"),
    ([{"type": "message", "role": "user"}], "items[0].content"),
    ([{"type": "message", "role": "user", "content": [{"type": "input_text"}]}], "items[0].content[0].text"),
    ([{"type": "message", "role": "user", "content": [{"type": "sticker", "text": "x"}]}],
     "items[0].content[0].type"),
    ([{"type": "teleport"}], "items[0].type"),
    ([{"content": "no role, no type"}], "items[0].type"),
    ([{"type": "function_call", "call_id": "c1", "name": "f"}], "items[0].arguments"),
    ([{"type": "mcp_list_tools", "server_label": "s", "tools": [{"input_schema": {}}]}], "items[0].tools[0].name"),
])
def test_a_bad_item_is_a_400_naming_its_field(items: list[Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        check_items(items)
    assert refused.value.param == param
    assert refused.value.status_code == 400 and param in refused.value.message


def test_the_short_message_form_and_every_item_type_are_accepted() -> None:
    parsed = check_items([
        {"role": "user", "content": "hi"},
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c", "output": "42"},
        {"type": "item_reference", "id": "msg_1"},
    ])
    assert [item.type for item in parsed] == ["message", "function_call", "function_call_output", "item_reference"]


FILE_SEARCH = {"type": "file_search_call", "id": "fs_1", "queries": ["q"], "status": "completed",
               "results": [{"file_id": "f", "filename": "a.txt", "score": 1.0, "text": "t", "attributes": {}}]}
ANSWER = {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed", "content": [
    {"type": "output_text", "text": "a", "annotations": [],
     "logprobs": [{"token": "a", "bytes": [97], "logprob": -0.1, "top_logprobs": []}]}]}
REASONING = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "sealed", "status": "completed"}
SEARCH = {"type": "web_search_call", "id": "ws_1", "status": "completed",
          "action": {"type": "search", "query": "q", "sources": [{"type": "url", "url": "https://x"}]}}


@pytest.mark.parametrize(("item", "include", "hidden"), [
    (FILE_SEARCH, "file_search_call.results", lambda item: item["results"]),
    (ANSWER, "message.output_text.logprobs", lambda item: item["content"][0]["logprobs"]),
    (REASONING, "reasoning.encrypted_content", lambda item: item["encrypted_content"]),
    (SEARCH, "web_search_call.action.sources", lambda item: item["action"]["sources"]),
])
def test_included_data_is_shown_only_when_asked_for(item: dict[str, Any], include: str, hidden: Any) -> None:
    assert not hidden(shown(item, []))
    assert hidden(shown(item, [include])) == hidden(item)
    assert shown(item, [include]) == item
