"""Tool runtime API (/v1/tool-runtime): the registered groups' tools, and the RAG tool's insert/query sub-API."""
