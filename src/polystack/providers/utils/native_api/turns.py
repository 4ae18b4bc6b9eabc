"""OpenAI chat messages -> one system prompt and alternating turns: the part every native API shares.

Native APIs take the system prompt apart from the conversation and want each role's consecutive messages
in one turn; only what a turn's parts look like is the vendor's own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from polystack.apis.errors import InvalidRequestError
from polystack.apis.inference.types import (
    AssistantMessage,
    DeveloperMessage,
    Message,
    SystemMessage,
    TextPart,
    text_of,
)

Part = dict[str, Any]
Turn = tuple[str, list[Part]]  # a role and its parts in the vendor's shape


@dataclass(frozen=True)
class Conversation:
    system: str | None  # the text of every system and developer message, in order
    turns: list[Turn]


def split_conversation(messages: list[Message], turn: Callable[[Message, int], Turn]) -> Conversation:
    """The system prompt gathered from anywhere in `messages`, and the other messages as turns.

    `turn` translates one message (with its index, for errors); messages it gives no parts are dropped and
    consecutive turns of one role are merged (so the results of parallel tool calls travel together).
    """
    system: list[str] = []
    turns: list[Turn] = []
    for index, message in enumerate(messages):
        if isinstance(message, SystemMessage | DeveloperMessage):
            if text := text_of(message.content):
                system.append(text)
            continue
        role, parts = turn(message, index)
        if not parts:
            continue
        if turns and turns[-1][0] == role:
            turns[-1][1].extend(parts)
        else:
            turns.append((role, parts))
    return Conversation("\n\n".join(system) or None, turns)


def assistant_texts(message: AssistantMessage) -> list[str]:
    """The non-empty texts of an assistant message's content, refusals included."""
    if isinstance(message.content, str):
        return [message.content] if message.content else []
    texts = (part.text if isinstance(part, TextPart) else part.refusal for part in message.content or [])
    return [text for text in texts if text]


def tool_arguments(arguments: str, index: int) -> dict[str, Any]:
    """A tool call's JSON arguments as the object native APIs require ({} for empty arguments)."""
    if not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise InvalidRequestError(f"messages[{index}]: tool call arguments must be a JSON object",
                                  param=f"messages[{index}].tool_calls")
    return value
