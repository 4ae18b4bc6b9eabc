"""Bandit's checks on one Python snippet, in memory: its AST visitor with the checks we map to our categories.

`# nosec` comments are ignored (model output could carry them to hide a finding). Bandit checks not in
BANDIT_CATEGORIES (assert_used, random, import of subprocess, ...) are dropped: they flag code style or
possible risks, not the insecure patterns this shield is about.
"""

from __future__ import annotations

import io
import logging
import threading
import warnings
from typing import Any

from polystack.providers.inline.safety.code_scanner.rules import PASSWORDISH, LineFinding

BANDIT_CATEGORIES: dict[str, str] = {
    "B105": "code/hardcoded-secret", "B106": "code/hardcoded-secret", "B107": "code/hardcoded-secret",
    "B601": "code/shell-injection", "B602": "code/shell-injection", "B604": "code/shell-injection",
    "B605": "code/shell-injection", "B609": "code/shell-injection",
    "B608": "code/sql-injection", "B610": "code/sql-injection", "B611": "code/sql-injection",
    "B301": "code/unsafe-deserialization", "B302": "code/unsafe-deserialization",
    "B506": "code/unsafe-deserialization", "B614": "code/unsafe-deserialization",
    "B102": "code/code-injection", "B307": "code/code-injection",
    "B303": "code/weak-crypto", "B324": "code/weak-crypto", "B304": "code/weak-crypto", "B305": "code/weak-crypto",
    "B505": "code/weak-crypto",
    "B501": "code/tls-disabled", "B502": "code/tls-disabled", "B503": "code/tls-disabled",
    "B504": "code/tls-disabled", "B323": "code/tls-disabled", "B507": "code/tls-disabled",
}
_WEAK_HASHES = frozenset({"B303", "B324"})  # only next to a password, like the regex rule
_FILENAME = "snippet.py"


class BanditScanner:
    """Loads Bandit's plugins once (about 0.2 s); each scan then builds a fresh visitor (about 2 ms)."""

    def __init__(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # stevedore's verify_requirements, inside Bandit
            from bandit.core import config, test_set

            self._tests = test_set.BanditTestSet(config.BanditConfig(), profile={"include": set(BANDIT_CATEGORIES)})
        # Bandit warns on every snippet that it cannot name its module; that is expected here.
        logging.getLogger("bandit").setLevel(logging.ERROR)
        self._lock = threading.Lock()  # the shared test set is not documented as thread-safe: one scan at a time

    def scan(self, code: str) -> list[LineFinding] | None:
        """Findings of a Python snippet; None when it does not parse (the caller then applies every regex rule)."""
        from bandit.core import meta_ast, metrics, node_visitor

        visitor: Any = node_visitor.BanditNodeVisitor(
            _FILENAME, io.BytesIO(code.encode()), meta_ast.BanditMetaAst(), self._tests, False, {}, metrics.Metrics()
        )
        try:
            with self._lock:
                visitor.process(code)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            return None
        lines = code.splitlines()
        findings = []
        for issue in visitor.tester.results:
            category = BANDIT_CATEGORIES.get(issue.test_id)
            if category is None:
                continue
            line = lines[issue.lineno - 1] if 0 < issue.lineno <= len(lines) else ""
            if issue.test_id in _WEAK_HASHES and not PASSWORDISH.search(line):
                continue
            findings.append(LineFinding(category, f"bandit-{issue.test_id}-{issue.test}", issue.lineno))
        return findings
