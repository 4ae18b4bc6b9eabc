"""Config of inline::code-scanner: which engines run on the code blocks of a message."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from polystack.providers.inline.safety.offline_common import JudgedRole, OfflineShieldConfig


class CodeScannerConfig(OfflineShieldConfig):
    """Bandit (in-process) on Python blocks and a documented regex rule set on every block."""

    judged_role: JudgedRole = Field(
        default="any",
        description="run-shield judges the last message with this role (`assistant` to judge only model "
        "output); `any` judges the very last message.",
    )
    bandit: bool = Field(default=True, description="Run Bandit's checks on Python blocks (regex rules still run).")
    scan_unfenced: bool = Field(
        default=False,
        description="Also scan a message that has no fenced code block as one block. Off by default: prose that "
        "names a bad practice ('never pass verify=False') would be flagged.",
    )

    @classmethod
    def sample_config(cls) -> dict[str, Any]:
        return {"bandit": True}
