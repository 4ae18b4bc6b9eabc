"""inline::rag-runtime: the knowledge_search tool (group builtin::rag) and the rag-tool routes, over vector stores."""

from __future__ import annotations

from typing import Any

from polystack.apis.datatypes import Api
from polystack.apis.files.protocol import Files
from polystack.apis.inference.protocol import Inference
from polystack.apis.vector_io.protocol import VectorIO
from polystack.core.impls import ProviderDeps
from polystack.providers.inline.tool_runtime.rag.config import RagRuntimeConfig


async def create(config: RagRuntimeConfig, deps: ProviderDeps) -> Any:
    from polystack.providers.inline.tool_runtime.rag.runtime import RagRuntime

    return RagRuntime(config, deps.require(Api.vector_io, VectorIO), deps.get_as(Api.files, Files),
                      deps.get_as(Api.inference, Inference))
