"""Prompt templates: `{{ name }}` placeholders, the rules a template and its declared variables obey, render.

A placeholder is `{{`, a variable name, `}}`, with optional spaces inside the braces. Names are identifiers
(ASCII letters, digits, `_`, not starting with a digit). Every placeholder of a template must be declared
among its variables (Llama Stack's rule); a declared variable need not be used. Rendering replaces each
placeholder by its value in one pass: a value is inserted as it is, never read as a template itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from polystack.apis.errors import InvalidRequestError
from polystack.apis.prompts.types import Prompt

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# What Llama Stack reads as a placeholder: a word that is not an identifier here is refused, never
# left in the text unnoticed.
_WORD_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def placeholders(template: str) -> list[str]:
    """The variable names the template uses, each once, in order of first use."""
    return list(dict.fromkeys(PLACEHOLDER.findall(template)))


def check_template(template: str, variables: Sequence[str]) -> list[str]:
    """The declared variables, once each is an identifier declared once and every placeholder is declared.

    Raises InvalidRequestError naming the variable (param `variables[i]`, `variables` or `prompt`).
    """
    seen: set[str] = set()
    for index, name in enumerate(variables):
        if not IDENTIFIER.fullmatch(name):
            raise InvalidRequestError(
                f"Invalid variable name {name!r}: a name is an identifier (ASCII letters, digits and '_', "
                "not starting with a digit).", param=f"variables[{index}]")
        if name in seen:
            raise InvalidRequestError(f"The variable '{name}' is declared twice.", param=f"variables[{index}]")
        seen.add(name)
    for word in _WORD_PLACEHOLDER.findall(template):
        if not IDENTIFIER.fullmatch(word):
            raise InvalidRequestError(
                f"The placeholder '{{{{ {word} }}}}' does not name a variable: a name is an identifier "
                "(ASCII letters, digits and '_', not starting with a digit).", param="prompt")
    undeclared = [name for name in placeholders(template) if name not in seen]
    if undeclared:
        raise InvalidRequestError(
            f"The prompt uses the variable '{undeclared[0]}', which is not declared in 'variables' "
            f"(undeclared: {', '.join(undeclared)}).", param="variables")
    return list(variables)


def render(prompt: Prompt, values: Mapping[str, str], *, param: str = "prompt.variables") -> str:
    """The prompt's template with each placeholder replaced by its value.

    InvalidRequestError (param `<param>.<name>`) for a value of a variable the prompt does not declare, a value
    that is not a string, or a placeholder without a value. A declared variable the template does not use needs
    no value.
    """
    declared = set(prompt.variables)
    for name, value in values.items():
        if name not in declared:
            known = ", ".join(prompt.variables) or "none"
            raise InvalidRequestError(
                f"'{name}' is not a variable of prompt '{prompt.prompt_id}' version {prompt.version} "
                f"(its variables: {known}).", param=f"{param}.{name}")
        if not isinstance(value, str):
            raise InvalidRequestError(f"The value of the variable '{name}' must be a string.",
                                      param=f"{param}.{name}")
    missing = [name for name in placeholders(prompt.prompt) if name not in values]
    if missing:
        raise InvalidRequestError(
            f"No value for the variable '{missing[0]}' of prompt '{prompt.prompt_id}' version {prompt.version} "
            f"(missing: {', '.join(missing)}).", param=f"{param}.{missing[0]}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], prompt.prompt)
