"""Scans the code of a message: Bandit on Python blocks, the regex rules on all, secrets from inline::pii."""

from __future__ import annotations

from dataclasses import dataclass

from polystack.providers.inline.safety.code_scanner.bandit_scan import BanditScanner
from polystack.providers.inline.safety.code_scanner.blocks import CodeBlock, code_blocks
from polystack.providers.inline.safety.code_scanner.rules import LineFinding, scan_lines
from polystack.providers.inline.safety.pii import detectors

_TOKEN_KINDS = tuple(sorted(detectors.SECRET_KINDS))


@dataclass(frozen=True)
class CodeFinding:
    category: str
    rule: str
    block: int  # index of the code block in the message
    line: int  # 1-based line within the block
    language: str
    engine: str  # "bandit" or "rules"

    def as_dict(self) -> dict[str, object]:
        return {"category": self.category, "rule": self.rule, "block": self.block, "line": self.line,
                "language": self.language or None, "engine": self.engine}


class CodeScanner:
    def __init__(self, bandit: BanditScanner | None) -> None:
        self.bandit = bandit

    def blocks(self, text: str, *, scan_unfenced: bool) -> list[CodeBlock]:
        blocks = code_blocks(text)
        if not blocks and scan_unfenced and text.strip():
            blocks = [CodeBlock("", text)]
        return blocks

    def scan_block(self, index: int, block: CodeBlock) -> list[CodeFinding]:
        found: list[tuple[LineFinding, str]] = []
        bandit_findings = self.bandit.scan(block.code) if self.bandit is not None and block.is_python else None
        if bandit_findings is not None:
            found.extend((finding, "bandit") for finding in bandit_findings)
        # Where Bandit judged the block, only the rules it lacks apply; elsewhere (other languages, Bandit off,
        # Python that does not parse) every rule does.
        found.extend((finding, "rules") for finding in scan_lines(block.code, python=bandit_findings is not None))
        for number, line in enumerate(block.code.splitlines(), start=1):
            for token in detectors.find(line, _TOKEN_KINDS):
                found.append((LineFinding("code/hardcoded-secret", f"token-{token.kind}", number), "rules"))
        seen: set[tuple[str, int]] = set()
        findings = []
        for finding, engine in found:  # one finding per category and line, Bandit's first
            if (finding.category, finding.line) not in seen:
                seen.add((finding.category, finding.line))
                findings.append(CodeFinding(finding.category, finding.rule, index, finding.line, block.language,
                                            engine))
        return findings

    def scan(self, text: str, *, scan_unfenced: bool = False) -> list[CodeFinding]:
        findings: list[CodeFinding] = []
        for index, block in enumerate(self.blocks(text, scan_unfenced=scan_unfenced)):
            findings.extend(self.scan_block(index, block))
        return findings
