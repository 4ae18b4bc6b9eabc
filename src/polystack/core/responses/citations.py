"""Which files an answer cites: file_citation annotations from the passages server tools returned.

The rule (simple and robust on any model, small ones included): a file is cited when the answer names it or
repeats a run of at least 4 consecutive words of one of its passages; when no file qualifies, the top hit is
cited alone. Each cited file gets one annotation, placed at the end of the answer, in the order of the hits.
"""

from __future__ import annotations

import re

from polystack.apis.responses.items import FileCitation
from polystack.core.responses.tools import Source

RUN = 4
_WORD = re.compile(r"\w+")


def _runs(text: str) -> set[tuple[str, ...]]:
    words = [w.lower() for w in _WORD.findall(text)]
    return {tuple(words[i:i + RUN]) for i in range(len(words) - RUN + 1)}


def file_citations(answer: str, sources: list[Source]) -> list[FileCitation]:
    files = [s for s in sources if s.file_id]
    if not files or not answer:
        return []
    said = _runs(answer)
    lowered = answer.lower()
    cited: dict[str, Source] = {}
    for source in files:
        assert source.file_id is not None
        if source.file_id in cited:
            continue
        named = bool(source.filename) and source.filename.lower() in lowered  # type: ignore[union-attr]
        if named or said & _runs(source.text):
            cited[source.file_id] = source
    if not cited:
        top = files[0]
        cited = {top.file_id: top}  # type: ignore[dict-item]
    return [FileCitation(file_id=file_id, filename=source.filename or "", index=len(answer))
            for file_id, source in cited.items()]
