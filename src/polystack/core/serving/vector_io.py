"""Serves vector_io: the vector stores router over the vector_io providers, embedding with inference."""

from __future__ import annotations

from typing import Any

from polystack.apis.datatypes import Api
from polystack.core.errors import StackError
from polystack.core.routing.vector_io import VectorIORouter
from polystack.core.serving import ServeContext
from polystack.core.vector_stores.contextual import ContextualDefaults
from polystack.core.vector_stores.query_rewrite import QueryRewriter
from polystack.core.vector_stores.records import VectorStoreRecords


async def serve(context: ServeContext, providers: dict[str, Any]) -> dict[str, Any]:
    reference = context.config.storage.stores.vector_stores
    if reference is None:
        raise StackError(
            "the vector_io API keeps its vector stores in a SQL store: configure storage.stores.vector_stores"
        )
    inference = context.impls.get(Api.inference)
    if inference is None:
        raise StackError("the vector_io API embeds with the inference API: configure an inference provider")
    records = VectorStoreRecords(await context.storage.sql(reference))
    await records.migrate()
    settings = context.config.vector_stores
    contextual = settings.contextual_retrieval_params
    jobs = await context.job_runner(reference, settings.ingestion_concurrency)
    router = VectorIORouter(
        providers,
        records,
        inference,
        context.impls.get(Api.files),
        jobs,
        default_provider_id=settings.default_provider_id,
        default_embedding_model=settings.default_embedding_model,
        ingestion_concurrency=settings.ingestion_concurrency,
        embedding_batch_size=settings.embedding_batch_size,
        max_file_bytes=settings.max_file_bytes,
        contextual=ContextualDefaults(
            model=contextual.model, timeout_seconds=contextual.default_timeout_seconds,
            max_concurrency=contextual.default_max_concurrency, max_document_tokens=contextual.max_document_tokens),
        rewriter=QueryRewriter(
            inference, settings.default_query_expansion_model,
            prompt=settings.query_expansion_prompt,
            max_tokens=settings.query_expansion_max_tokens, temperature=settings.query_expansion_temperature),
    )
    await router.start()
    return {Api.vector_io: router}
