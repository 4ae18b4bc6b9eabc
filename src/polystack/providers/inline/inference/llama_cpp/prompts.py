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
_PART_KINDS = {ImagePart: "image_url", AudioPart: "input_audio", FilePart: "file"}


@dataclass(frozen=True)
class Turn:
    role: str  # system, user, assistant or tool
    text: str


def turns_of(messages: list[Message], *, tools_text: str | None) -> list[Turn]:
    """Plain-text turns. With `tools_text` the tools join the first system turn, and earlier
    assistant replies are written in the tool protocol so the model sees it used."""
    turns: list[Turn] = []
    for index, message in enumerate(messages):
        if isinstance(message, UserMessage):
            _check_parts(message, index)
        if isinstance(message, AssistantMessage):
            turns.append(Turn("assistant", _assistant_text(message, tools_text is not None)))
        elif isinstance(message, ToolMessage):
            turns.append(Turn("tool", text_of(message.content)))
        else:
            role = "system" if message.role in ("system", "developer") else "user"
            turns.append(Turn(role, text_of(message.content)))
    if tools_text is not None:
        first_system = next((i for i, turn in enumerate(turns) if turn.role == "system"), None)
        if first_system is None:
            turns.insert(0, Turn("system", tools_text))
        else:
            turns[first_system] = Turn("system", f"{turns[first_system].text}\n\n{tools_text}")
    return turns


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
    text = text_of(message.content) or message.refusal or ""
    calls = [format_call(call.function.name, call.function.arguments) for call in message.tool_calls or []]
    if not tools_active:
        return "\n".join([text, *calls]) if text else "\n".join(calls)
    parts = [MESSAGE_PREFIX + text] if text else []
    return "\n".join(parts + calls)


def chatml_prompt(turns: list[Turn]) -> str:
    body = "".join(f"<|im_start|>{turn.role}\n{turn.text}<|im_end|>\n" for turn in turns)
    return body + "<|im_start|>assistant\n"


def template_prompt(turns: list[Turn], template: str, *, bos: str, eos: str) -> str:
    """Render with the model's Jinja chat template; a template that rejects the turns is a 400."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos, add_generation_prompt=True)
    messages: list[Any] = [{"role": turn.role, "content": turn.text} for turn in turns]
    try:
        return formatter(messages=messages).prompt
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

    def render(self, turns: list[Turn]) -> str:
        if self.name == "gguf-template" and self.template:
            return template_prompt(turns, self.template, bos=self.bos, eos=self.eos)
        return chatml_prompt(turns)

    @property
    def stops(self) -> tuple[str, ...]:
        if self.name == "gguf-template":
            return (self.eos,) if self.eos else ()
        return CHATML_STOPS
