"""Inline tool_runtime providers: the RAG tool (rag-runtime).

No `inline::code-interpreter`: see the note in providers/registry/tool_runtime.py.
"""
