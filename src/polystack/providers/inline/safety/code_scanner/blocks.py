"""Code blocks in a message: Markdown fences (``` or ~~~), with their language; an unclosed fence runs to the end."""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass

_FENCE = re.compile(r"^[ \t]{0,3}(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n", re.MULTILINE)
PYTHON_NAMES = frozenset({"python", "py", "python3", "py3", "ipython", "pycon", "sage"})


@dataclass(frozen=True)
class CodeBlock:
    language: str  # lower-case first word of the fence's info string; "" when none was given
    code: str

    @property
    def is_python(self) -> bool:
        """Labelled Python, or unlabelled and valid Python syntax."""
        if self.language in PYTHON_NAMES:
            return True
        return self.language == "" and parses_as_python(self.code)


def parses_as_python(code: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):  # the last two: absurdly nested input
        return False
    return True


def code_blocks(text: str) -> list[CodeBlock]:
    blocks: list[CodeBlock] = []
    position = 0
    while (opening := _FENCE.search(text, position)) is not None:
        fence = opening.group("fence")
        closing = re.compile(rf"^[ \t]{{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE)
        end = closing.search(text, opening.end())
        body = text[opening.end():end.start() if end else len(text)]
        info = opening.group("info").strip().split()
        blocks.append(CodeBlock(info[0].lower() if info else "", body))
        if end is None:
            break
        position = end.end()
    return blocks
