"""Chat messages and tools -> prompt text: ChatML with the tool protocol, or the GGUF's own chat template."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from polystack.apis.errors import InvalidRequestError, UnsupportedParameterError
from polystack.apis.inference.types import (
    AssistantMessage,
    AudioPart,
    FilePart,
    ImagePart,
    Message,
    ToolMessage,
    UserMessage,
    text_of,
)
from polystack.providers.inline.inference.llama_cpp.config import ChatFormat
from polystack.providers.inline.inference.llama_cpp.tool_protocol import MESSAGE_PREFIX, format_call

CHATML_STOPS = ("<|im_end|>", "<|im_start|>")
# Tool results are shown as the user's turn (as Qwen2.5's own template does); after the last one the
# model is asked to answer, or small models call the same tool again.
ANSWER_FROM_RESULTS = "Answer my question with this result."
_MARK = "\u2063polystack-mark\u2063"  # text no conversation contains, to find where a template puts content
_PART_KINDS = {ImagePart: "image_url", AudioPart: "input_audio", FilePart: "file"}


@dataclass(frozen=True)
class Turn:
    role: str  # system, user, assistant or tool
    text: str


def turns_of(messages: list[Message], *, tools_text: str | None, default_system: str = "") -> list[Turn]:
    """Plain-text turns. With `tools_text` the tools join the first system turn, and earlier
    assistant replies are written in the tool protocol so the model sees it used. Without a system
    message the model's `default_system` comes first, as its chat template would write it."""
    turns: list[Turn] = []
    if default_system and not any(message.role in ("system", "developer") for message in messages):
        turns.append(Turn("system", default_system))
    calls = {call.id: call.function for message in messages if isinstance(message, AssistantMessage)
             for call in message.tool_calls or []}
    for index, message in enumerate(messages):
        if isinstance(message, UserMessage):
            _check_parts(message, index)
        if isinstance(message, AssistantMessage):
            text = _assistant_text(message, tools_text is not None)
            if text:
                turns.append(Turn("assistant", text))
        elif isinstance(message, ToolMessage):
            call = calls.get(message.tool_call_id)
            source = f"{call.name}({call.arguments})" if call else "The tool"
            turns.append(Turn("user", f"{source} returned: {text_of(message.content)}"))
        else:
            role = "system" if message.role in ("system", "developer") else "user"
            turns.append(Turn(role, text_of(message.content)))
    if messages and isinstance(messages[-1], ToolMessage) and tools_text is None:
        turns[-1] = Turn("user", f"{turns[-1].text}\n\n{ANSWER_FROM_RESULTS}")
    if tools_text is not None:
        first_system = next((i for i, turn in enumerate(turns) if turn.role == "system"), None)
        if first_system is None:
            turns.insert(0, Turn("system", tools_text))
        else:
            turns[first_system] = Turn("system", f"{turns[first_system].text}\n\n{tools_text}")
    return turns


def _merge_user_turns(turns: list[Turn]) -> list[Turn]:
    """One user turn where results follow a question with no assistant text between them: many chat
    templates (Gemma's, Llama's) refuse two user turns in a row. (ChatML takes them apart, and SmolLM2
    answers from a result in a turn of its own better.)"""
    merged: list[Turn] = []
    for turn in turns:
        if merged and turn.role == "user" and merged[-1].role == "user":
            merged[-1] = Turn("user", f"{merged[-1].text}\n\n{turn.text}")
        else:
            merged.append(turn)
    return merged


def _check_parts(message: UserMessage, index: int) -> None:
    if isinstance(message.content, str):
        return
    for position, part in enumerate(message.content):
        kind = _PART_KINDS.get(type(part))
        if kind is not None:
            raise UnsupportedParameterError(
                f"this model reads text only: '{kind}' content parts are not supported",
                param=f"messages[{index}].content[{position}]",
            )


def _assistant_text(message: AssistantMessage, tools_active: bool) -> str:
    """Past calls in the tool protocol when tools are offered; otherwise left out (their results, which
    name the call, follow), so a model that cannot call tools never sees protocol text to imitate."""
    text = text_of(message.content) or message.refusal or ""
    if not tools_active:
        return text
    calls = [format_call(call.function.name, call.function.arguments) for call in message.tool_calls or []]
    parts = [MESSAGE_PREFIX + text] if text else []
    return "\n".join(parts + calls)


def chatml_prompt(turns: list[Turn]) -> str:
    body = "".join(f"<|im_start|>{turn.role}\n{turn.text}<|im_end|>\n" for turn in turns)
    return body + "<|im_start|>assistant\n"


def _render(template: str, messages: list[dict[str, str]], *, bos: str, eos: str, generation_prompt: bool) -> str:
    """A GGUF chat template rendered as Hugging Face does: sandboxed Jinja, trimmed blocks, raise_exception."""
    from datetime import datetime

    from jinja2 import BaseLoader
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise ValueError(message)

    def strftime_now(pattern: str) -> str:
        return datetime.now().strftime(pattern)

    environment = ImmutableSandboxedEnvironment(loader=BaseLoader(), trim_blocks=True, lstrip_blocks=True)
    return str(environment.from_string(template).render(
        messages=messages, bos_token=bos, eos_token=eos, add_generation_prompt=generation_prompt,
        raise_exception=raise_exception, strftime_now=strftime_now))


def template_default_system(template: str) -> str:
    """The system prompt a ChatML template writes when a conversation has none (SmolLM2, Qwen2.5 do).

    Without it these small models answer "hi" with hundreds of tokens of unrelated text.
    """
    try:
        text = _render(template, [{"role": "user", "content": _MARK}], bos="", eos="", generation_prompt=False)
    except Exception:  # noqa: BLE001 - a template that cannot render a plain user turn has no default to give
        return ""
    head = text.split(_MARK, 1)[0]
    start = head.find("<|im_start|>system\n")
    if start < 0:
        return ""
    body = head[start + len("<|im_start|>system\n"):]
    return body.split("<|im_end|>", 1)[0].strip()


def template_turn_end(template: str, *, bos: str, eos: str) -> str:
    """The marker a chat template writes after an assistant turn (`<end_of_turn>`, `<|eot_id|>`...): a stop."""
    try:
        text = _render(template, [{"role": "user", "content": "u"}, {"role": "assistant", "content": _MARK}],
                       bos=bos, eos=eos, generation_prompt=False)
    except Exception:  # noqa: BLE001 - templates raise anything; the EOS token still stops generation
        return ""
    after = text.split(_MARK, 1)[1] if _MARK in text else ""
    return after.strip().split(maxsplit=1)[0] if after.strip() else ""


def template_prompt(turns: list[Turn], template: str, *, bos: str, eos: str) -> str:
    """Render with the model's Jinja chat template; a template that rejects the turns is a 400."""
    messages: list[Any] = [{"role": turn.role, "content": turn.text} for turn in _merge_user_turns(turns)]
    try:
        return _render(template, messages, bos=bos, eos=eos, generation_prompt=True)
    except Exception as exc:  # noqa: BLE001 - templates raise anything (often via raise_exception)
        raise InvalidRequestError(f"the model's chat template rejected these messages: {exc}",
                                  param="messages") from None


@dataclass(frozen=True)
class PromptFormat:
    """How a model's chat prompts are written, and the stop strings that end its turn."""

    name: ChatFormat
    template: str | None = None
    bos: str = ""
    eos: str = ""
    default_system: str = ""
    turn_end: str = ""

    def render(self, turns: list[Turn]) -> str:
        if self.name == "gguf-template" and self.template:
            return template_prompt(turns, self.template, bos=self.bos, eos=self.eos)
        return chatml_prompt(turns)

    @property
    def stops(self) -> tuple[str, ...]:
        if self.name == "gguf-template":
            return tuple(dict.fromkeys(stop for stop in (self.eos, self.turn_end) if stop))
        return CHATML_STOPS
