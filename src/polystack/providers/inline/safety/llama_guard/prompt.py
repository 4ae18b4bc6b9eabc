"""The Llama Guard 3 prompt, and the robust reading of its answer ("safe", or "unsafe" then the codes)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from polystack.providers.inline.safety.llama_guard.taxonomy import HAZARDS

_TEMPLATE = """Task: Check if there is unsafe content in '{role}' messages in conversations according to our safety \
policy with the below categories.

<BEGIN UNSAFE CONTENT CATEGORIES>
{categories}
<END UNSAFE CONTENT CATEGORIES>

<BEGIN CONVERSATION>

{conversation}

<END CONVERSATION>

Provide your safety assessment for ONLY THE LAST {role} message in the above conversation:
 - First line must read 'safe' or 'unsafe'.
 - If unsafe, a second line must include a comma-separated list of violated categories."""

_VERDICT = re.compile(r"^\W*(safe|unsafe)\b", re.IGNORECASE)
_CODE = re.compile(r"\bS(1[0-4]|[1-9])\b", re.IGNORECASE)


class UnreadableVerdict(ValueError):
    """The guard answered something that is neither 'safe' nor 'unsafe'."""


def role_checked(messages: list[dict[str, Any]]) -> str:
    """'Agent' when the last message is the assistant's (output), else 'User' (input)."""
    return "Agent" if messages and messages[-1].get("role") == "assistant" else "User"


def text_of(content: Any) -> str:
    """A message's text: a string, or its text parts joined (images and other parts are not judged)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text")


def build_prompt(messages: list[dict[str, Any]], excluded: Iterable[str] = ()) -> str:
    """The guard's prompt judging the last message: the user and assistant turns, the policy minus `excluded`."""
    role = role_checked(messages)
    left_out = set(excluded)
    categories = "\n".join(f"{code}: {name}.\n{summary}" for code, (name, summary) in HAZARDS.items()
                           if code not in left_out)
    turns = []
    for message in messages:
        speaker = {"user": "User", "assistant": "Agent"}.get(str(message.get("role")))
        text = text_of(message.get("content"))
        if speaker is not None and text:
            turns.append(f"{speaker}: {text}")
    return _TEMPLATE.format(role=role, categories=categories, conversation="\n\n".join(turns))


def parse_verdict(answer: str) -> list[str] | None:
    """None when safe; the hazard codes when unsafe (maybe none named). UnreadableVerdict otherwise.

    Tolerates case, surrounding whitespace and punctuation, codes on the first line or the next ones.
    """
    match = _VERDICT.match(answer.strip())
    if match is None:
        raise UnreadableVerdict(f"the guard answered {answer.strip()[:80]!r}, neither 'safe' nor 'unsafe'")
    if match.group(1).lower() == "safe":
        return None
    rest = answer.strip()[match.end():]
    return list(dict.fromkeys(f"S{number}" for number in _CODE.findall(rest)))
