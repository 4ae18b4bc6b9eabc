"""The text protocol for tools: how tools and calls are written in a prompt, and how replies are read back.

A reply is either `message:` and a line of text, or one or more calls, each written as
`functions.<name>:` and a line with its JSON arguments (the chatml-function-calling convention).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from polystack.apis.inference.types import Tool

MESSAGE_PREFIX = "message:\n"
CALL_PREFIX = "functions."
# A line of a text reply starting with one of these is protocol, never the answer: the reply ends there.
PROTOCOL_MARKERS = (CALL_PREFIX, "function.", MESSAGE_PREFIX.strip())


def tools_block(tools: list[Tool]) -> str:
    """The system-prompt text that lists the tools and explains the two kinds of reply."""
    lines = ["You can call these functions:", ""]
    for tool in tools:
        lines.append(f"{CALL_PREFIX}{tool.function.name}:")
        if tool.function.description:
            lines.append(tool.function.description)
        lines.append(json.dumps(tool.function.parameters or {"type": "object", "properties": {}}))
        lines.append("")
    lines += [
        "Reply either with a message or with function calls.",
        "To reply with a message, start with 'message:' on its own line, then write the message.",
        "To call a function, write 'functions.<function_name>:' on its own line, then its JSON arguments "
        "on the next line, for example:",
        "",
        "functions.<function_name>:",
        '{ "arg1": "value1", "arg2": "value2" }',
    ]
    return "\n".join(lines)


def format_call(name: str, arguments: str) -> str:
    return f"{CALL_PREFIX}{name}:\n{arguments}"


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


@dataclass(frozen=True)
class CallStarted:
    index: int
    call_id: str
    name: str


@dataclass(frozen=True)
class ArgumentsDelta:
    index: int
    text: str


CallEvent = CallStarted | ArgumentsDelta


class CallParser:
    """Reads generated calls as they stream: `functions.a:\\n{...}\\nfunctions.b:\\n{...}`.

    The generation grammar guarantees that shape and keeps newlines out of the JSON, so a
    newline always ends a call's arguments. Trailing spaces are held back until more text comes.
    """

    def __init__(self, emit: Callable[[CallEvent], None]) -> None:
        self.emit = emit
        self.calls = 0
        self._header = ""
        self._in_arguments = False
        self._held = ""

    def feed(self, text: str) -> None:
        while text:
            if self._in_arguments:
                head, newline, text = text.partition("\n")
                self._arguments(head)
                if newline:
                    self._in_arguments = False
                    self._held = ""
            else:
                head, newline, text = text.partition("\n")
                self._header += head
                if newline:
                    self._start_call()

    def _arguments(self, text: str) -> None:
        text = self._held + text
        body = text.rstrip(" ")
        self._held = text[len(body):]
        if body:
            self.emit(ArgumentsDelta(self.calls - 1, body))

    def _start_call(self) -> None:
        name = self._header.strip().removeprefix(CALL_PREFIX).removesuffix(":")
        self._header = ""
        self._in_arguments = True
        self.emit(CallStarted(self.calls, new_call_id(), name))
        self.calls += 1
