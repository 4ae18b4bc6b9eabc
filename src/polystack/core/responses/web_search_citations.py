"""Which web pages an answer cites: url_citation annotations from the pages web_search returned.

The rule, in the style of file_search's (citations.py), robust on any model: a page is cited when the answer
names its url (or its title), or repeats a run of at least 4 consecutive words of its snippet; when no page
qualifies, the top result is cited alone. Each cited page gets one annotation spanning what the answer says
of it: the url or title where named, else the first repeated run, else (the top result) the whole answer.
Annotations are in the order of the results.
"""

from __future__ import annotations

import re

from polystack.apis.responses.items import URLCitation
from polystack.core.responses.tools import Source

RUN = 4
_WORD = re.compile(r"\w+")


def _span_of_run(answer: str, snippet: str) -> tuple[int, int] | None:
    """The span in `answer` of its first run of RUN words that `snippet` also has (case-insensitive)."""
    words = list(_WORD.finditer(answer))
    said = [w.group().lower() for w in _WORD.finditer(snippet)]
    runs = {tuple(said[i:i + RUN]) for i in range(len(said) - RUN + 1)}
    for i in range(len(words) - RUN + 1):
        if tuple(w.group().lower() for w in words[i:i + RUN]) in runs:
            return words[i].start(), words[i + RUN - 1].end()
    return None


def _span(answer: str, source: Source) -> tuple[int, int] | None:
    lowered = answer.lower()
    for named in (source.url, source.title):
        if named and named.lower() in lowered:
            start = lowered.index(named.lower())
            return start, start + len(named)
    return _span_of_run(answer, source.text)


def url_citations(answer: str, sources: list[Source]) -> list[URLCitation]:
    pages = [s for s in sources if s.url]
    if not pages or not answer:
        return []
    cited: dict[str, URLCitation] = {}
    for source in pages:
        assert source.url is not None
        if source.url in cited:
            continue
        span = _span(answer, source)
        if span is not None:
            cited[source.url] = URLCitation(url=source.url, title=source.title or source.url,
                                            start_index=span[0], end_index=span[1])
    if not cited:
        top = pages[0]
        assert top.url is not None
        return [URLCitation(url=top.url, title=top.title or top.url, start_index=0, end_index=len(answer))]
    return list(cited.values())
