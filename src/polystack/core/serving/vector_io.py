"""Serves vector_io: the vector stores router over the vector_io providers, embedding with inference."""

from __future__ import annotations

from polystack.apis.datatypes import Api
from polystack.apis.files.protocol import Files
from polystack.apis.vector_io.index import VectorIndex
from polystack.core.errors import StackError
from polystack.core.impls import all_as
from polystack.core.routing.inference import InferenceRouter
from polystack.core.routing.vector_io import VectorIORouter
from polystack.core.serving import Providers, ServeContext
from polystack.core.vector_stores.contextual import ContextualDefaults
from polystack.core.vector_stores.query_rewrite import QueryRewriter
from polystack.core.vector_stores.records import VectorStoreRecords


async def serve(context: ServeContext, providers: Providers) -> dict[str, object]:
    reference = context.config.storage.stores.vector_stores
    if reference is None:
        raise StackError(
            "the vector_io API keeps its vector stores in a SQL store: configure storage.stores.vector_stores"
        )
    inference = context.impls.get(Api.inference)
    if not isinstance(inference, InferenceRouter):  # it resolves embedding models through the router's table
        raise StackError("the vector_io API embeds with the inference API: configure an inference provider")
    records = VectorStoreRecords(await context.storage.sql(reference))
    await records.migrate()
    settings = context.config.vector_stores
    contextual = settings.contextual_retrieval_params
    jobs = await context.job_runner(reference, settings.ingestion_concurrency)
    router = VectorIORouter(
        all_as(providers, VectorIndex, Api.vector_io),
        records,
        inference,
        context.impls.get_as(Api.files, Files),
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
