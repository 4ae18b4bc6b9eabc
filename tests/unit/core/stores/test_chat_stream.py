from polystack.apis.inference.types import ChatCompletionChunk
from polystack.core.stores.chat_stream import ChatStreamAccumulator


def chunk(delta, finish=None, usage=None, choices=True):
    body = {"id": "c1", "object": "chat.completion.chunk", "created": 5, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else []}
    if usage:
        body["usage"] = usage
    return ChatCompletionChunk.model_validate(body)


def test_text_deltas_fold_into_one_message_with_usage():
    acc = ChatStreamAccumulator()
    for part in [chunk({"role": "assistant", "content": ""}), chunk({"content": "Hel"}), chunk({"content": "lo"}),
                 chunk({}, finish="length"),
                 chunk({}, usage={"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}, choices=False)]:
        acc.add(part)
    done = acc.completion()
    assert done.id == "c1" and done.object == "chat.completion"
    assert done.choices[0].message.content == "Hello" and done.choices[0].finish_reason == "length"
    assert done.usage.total_tokens == 4


def test_tool_call_fragments_reassemble_by_index():
    acc = ChatStreamAccumulator()
    acc.add(chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                   "function": {"name": "get_weather", "arguments": ""}}]}))
    acc.add(chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}))
    acc.add(chunk({"tool_calls": [{"index": 1, "id": "call_2", "function": {"name": "f", "arguments": "{}"}}]}))
    acc.add(chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}, finish="tool_calls"))
    message = acc.completion().choices[0].message
    assert [c.id for c in message.tool_calls] == ["call_1", "call_2"]
    assert message.tool_calls[0].function.arguments == '{"city": "Paris"}'
    assert message.content is None
