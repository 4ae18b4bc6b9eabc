"""inline::llama-cpp text handling without a model: stop strings, the tool-call reader, grammars, prompts."""

from __future__ import annotations

import json

import pytest

from polystack.apis.errors import UnsupportedParameterError
from polystack.apis.inference.types import ChatCompletionRequest, Tool
from polystack.providers.inline.inference.llama_cpp import grammars
from polystack.providers.inline.inference.llama_cpp.generation import _StopMatcher
from polystack.providers.inline.inference.llama_cpp.prompts import (
    ANSWER_FROM_RESULTS,
    PromptFormat,
    chatml_prompt,
    template_default_system,
    template_prompt,
    template_turn_end,
    turns_of,
)
from polystack.providers.inline.inference.llama_cpp.tool_protocol import (
    ArgumentsDelta,
    CallEvent,
    CallParser,
    CallStarted,
    tools_block,
)

WEATHER = Tool.model_validate({"type": "function", "function": {
    "name": "get_weather", "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}})


def feed_all(matcher: _StopMatcher, pieces: list[str]) -> tuple[str, bool]:
    out, hit = "", False
    for piece in pieces:
        text, hit = matcher.feed(piece)
        out += text
        if hit:
            break
    return out + matcher.flush(), hit


def test_a_stop_string_split_across_pieces_is_never_sent() -> None:
    sent, hit = feed_all(_StopMatcher(("<|im_end|>",)), ["Paris", "<|im", "_end|>", "more"])
    assert (sent, hit) == ("Paris", True)


def test_text_that_only_looks_like_a_stop_start_is_released() -> None:
    matcher = _StopMatcher(("STOP",))
    assert matcher.feed("a ST") == ("a ", False)
    assert matcher.feed("ONE") == ("STONE", False)


def test_the_earliest_of_several_stop_strings_wins() -> None:
    assert feed_all(_StopMatcher(("b", "xyz")), ["axyzb"]) == ("a", True)


def test_the_call_reader_streams_names_then_arguments_without_trailing_spaces() -> None:
    events: list[CallEvent] = []
    parser = CallParser(events.append)
    for piece in ["funct", "ions.get_", "weather:\n{", '"city": "Par', 'is"} ', "\nfunctions.get_time:", "\n{} "]:
        parser.feed(piece)
    starts = [event for event in events if isinstance(event, CallStarted)]
    assert [(event.index, event.name) for event in starts] == [(0, "get_weather"), (1, "get_time")]
    assert starts[0].call_id.startswith("call_") and starts[0].call_id != starts[1].call_id
    for index, expected in [(0, {"city": "Paris"}), (1, {})]:
        text = "".join(e.text for e in events if isinstance(e, ArgumentsDelta) and e.index == index)
        assert json.loads(text) == expected and text == text.strip()


def test_json_grammar_keeps_control_characters_out_of_strings() -> None:
    grammar = grammars.json_grammar({"type": "object", "properties": {"a": {"type": "string"}}})
    char_rule = next(line for line in grammar.splitlines() if line.startswith("char ::="))
    assert "\\x00-\\x1F" in char_rule


def test_tool_grammar_allows_each_tool_and_at_most_the_call_limit() -> None:
    other = Tool.model_validate({"type": "function", "function": {"name": "noop"}})
    one = grammars.tool_calls_grammar([WEATHER, other], max_calls=1)
    assert one.startswith("root ::= call\n") and '"get_weather:\\n"' in one and '"noop:\\n"' in one
    three = grammars.tool_calls_grammar([WEATHER], max_calls=3)
    assert three.startswith('root ::= call ( "\\n" call ){0,2}')


def test_tools_join_the_system_prompt_and_past_calls_use_the_protocol() -> None:
    request = ChatCompletionRequest.model_validate({"model": "m", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
                                              "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]})
    prompt = chatml_prompt(turns_of(request.messages, tools_text=tools_block([WEATHER])))
    assert prompt.startswith("<|im_start|>system\nBe brief.\n\nYou can call these functions:")
    assert '<|im_start|>assistant\nfunctions.get_weather:\n{"city": "Paris"}<|im_end|>' in prompt
    assert '<|im_start|>user\nget_weather({"city": "Paris"}) returned: sunny<|im_end|>' in prompt
    assert prompt.endswith("<|im_start|>assistant\n")


def test_without_tools_a_result_is_shown_with_its_call_and_the_model_is_asked_to_answer() -> None:
    request = ChatCompletionRequest.model_validate({"model": "m", "messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
                                              "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]})
    prompt = chatml_prompt(turns_of(request.messages, tools_text=None))
    assert "functions." not in prompt and "message:" not in prompt  # no protocol for the model to imitate
    assert prompt.endswith('<|im_start|>user\nget_weather({"city": "Paris"}) returned: sunny\n\n'
                           f"{ANSWER_FROM_RESULTS}<|im_end|>\n<|im_start|>assistant\n")
    # a template that needs alternating roles gets the question and the result as one user turn
    gemma = template_prompt(turns_of(request.messages, tools_text=None), GEMMA_TEMPLATE, bos="<bos>", eos="<eos>")
    assert gemma.count("<start_of_turn>user") == 1 and "returned: sunny" in gemma


def test_a_line_starting_with_protocol_text_ends_the_reply_before_it() -> None:
    markers = ("functions.", "message:")
    assert feed_all(_StopMatcher((), markers), ["funct", "ions.get_weather:\n{}"]) == ("", True)
    pieces = ["It is sunny.", "\nfunc", "tions.get_weather:"]
    assert feed_all(_StopMatcher((), markers), pieces) == ("It is sunny.", True)
    assert feed_all(_StopMatcher((), markers), ["Use the functions.py file"]) == ("Use the functions.py file", False)
    assert feed_all(_StopMatcher(("\n",), markers), ["a", "b\nc"]) == ("ab", True)  # the virtual newline is no stop
    assert feed_all(_StopMatcher(("\n",), markers), ["x"]) == ("x", False)


def test_audio_and_file_parts_are_unsupported() -> None:
    for part in [{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
                 {"type": "file", "file": {"file_id": "file-1"}}]:
        request = ChatCompletionRequest.model_validate({"model": "m", "messages": [
            {"role": "user", "content": [part]}]})
        with pytest.raises(UnsupportedParameterError):
            turns_of(request.messages, tools_text=None)


SMOLLM2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
GEMMA_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{% set role = 'model' if message['role'] == 'assistant' "
    "else message['role'] %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}")


def test_the_chat_templates_default_system_prompt_opens_a_conversation_without_one() -> None:
    default = template_default_system(SMOLLM2_TEMPLATE)
    assert default == "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
    request = ChatCompletionRequest.model_validate({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    prompt = chatml_prompt(turns_of(request.messages, tools_text=None, default_system=default))
    assert prompt.startswith(f"<|im_start|>system\n{default}<|im_end|>\n<|im_start|>user\nhi<|im_end|>")


def test_a_system_or_developer_message_replaces_the_default_system_prompt() -> None:
    for role in ("system", "developer"):
        request = ChatCompletionRequest.model_validate({"model": "m", "messages": [
            {"role": role, "content": "Be brief."}, {"role": "user", "content": "hi"}]})
        turns = turns_of(request.messages, tools_text=None, default_system="DEFAULT")
        assert [(turn.role, turn.text) for turn in turns] == [("system", "Be brief."), ("user", "hi")]


def test_a_template_without_a_default_system_prompt_gives_none() -> None:
    assert template_default_system(GEMMA_TEMPLATE) == ""
    assert template_default_system("{% raise %}") == ""


def test_the_chat_templates_end_of_turn_marker_is_a_stop_sequence() -> None:
    turn_end = template_turn_end(GEMMA_TEMPLATE, bos="<bos>", eos="<eos>")
    assert turn_end == "<end_of_turn>"
    stops = PromptFormat("gguf-template", template=GEMMA_TEMPLATE, bos="<bos>", eos="<eos>", turn_end=turn_end).stops
    assert stops == ("<eos>", "<end_of_turn>")
