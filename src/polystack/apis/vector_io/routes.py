"""HTTP routes of the vector-io API: OpenAI's /vector_stores family and Llama Stack's /vector-io."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from polystack.apis.datatypes import Api
from polystack.apis.documented import ListPage, returns
from polystack.apis.http import JSONBody, impl_of
from polystack.apis.vector_io.protocol import VectorIO
from polystack.apis.vector_io.types import (
    AttachFileRequest,
    CreateFileBatchRequest,
    CreateVectorStoreRequest,
    Deleted,
    InsertChunksRequest,
    QueryChunksRequest,
    QueryChunksResponse,
    SearchRequest,
    SearchResultsPage,
    UpdateFileRequest,
    UpdateVectorStoreRequest,
    VectorStore,
    VectorStoreFile,
    VectorStoreFileBatch,
    VectorStoreFileContent,
)

router = APIRouter(tags=["vector_io"])
vector_io = Depends(impl_of(Api.vector_io))
Order = Literal["asc", "desc"]
StatusFilter = Literal["in_progress", "completed", "failed", "cancelled"]


@router.post("/vector_stores", summary="Create a vector store", responses=returns(VectorStore))
async def create_vector_store(body: CreateVectorStoreRequest, impl: VectorIO = vector_io) -> Response:
    return JSONBody(await impl.create_vector_store(body))


@router.get("/vector_stores", summary="List vector stores", responses=returns(ListPage[VectorStore]))
async def list_vector_stores(after: str | None = None, before: str | None = None,
                             limit: int = Query(default=20, ge=1, le=100), order: Order = "desc",
                             impl: VectorIO = vector_io) -> Response:
    return JSONBody(await impl.list_vector_stores(after=after, before=before, limit=limit, order=order))


@router.get("/vector_stores/{vector_store_id}", summary="Retrieve a vector store",
             responses=returns(VectorStore))
async def get_vector_store(vector_store_id: str, impl: VectorIO = vector_io) -> Response:
    return JSONBody(await impl.get_vector_store(vector_store_id))


@router.post("/vector_stores/{vector_store_id}", summary="Update a vector store", responses=returns(VectorStore))
async def update_vector_store(vector_store_id: str, body: UpdateVectorStoreRequest,
                              impl: VectorIO = vector_io) -> Response:
    return JSONBody(await impl.update_vector_store(vector_store_id, body))


@router.delete("/vector_stores/{vector_store_id}", summary="Delete a vector store", responses=returns(Deleted))
async def delete_vector_store(vector_store_id: str, impl: VectorIO = vector_io) -> Response:
    return JSONBody(await impl.delete_vector_store(vector_store_id))


@router.post("/vector_stores/{vector_store_id}/search", summary="Search a vector store",
             responses=returns(SearchResultsPage))
async def search_vector_store(vector_store_id: str, body: SearchRequest, impl: VectorIO = vector_io) -> Response:
    return JSONBody(await impl.search_vector_store(vector_store_id, body))


@router.post("/vector_stores/{vector_store_id}/files", summary="Attach a file to a vector store",
             responses=returns(VectorStoreFile))
async def attach_file(vector_store_id: str, body: AttachFileRequest, impl: VectorIO = vector_io) -> Response:
    return JSONBody(await impl.attach_file(vector_store_id, body))


@router.get("/vector_stores/{vector_store_id}/files", summary="List a vector store's files",
             responses=returns(ListPage[VectorStoreFile]))
async def list_files(vector_store_id: str, after: str | None = None, before: str | None = None,
                     limit: int = Query(default=20, ge=1, le=100), order: Order = "desc",
                     filter: StatusFilter | None = None, impl: VectorIO = vector_io) -> Response:  # noqa: A002
    return JSONBody(await impl.list_files(vector_store_id, after=after, before=before, limit=limit, order=order,
                                          status=filter))


@router.get("/vector_stores/{vector_store_id}/files/{file_id}", summary="Retrieve a vector store file",
             responses=returns(VectorStoreFile))
async def get_file(vector_store_id: str, file_id: str, impl: VectorIO = vector_io) -> Response:
    return JSONBody(await impl.get_file(vector_store_id, file_id))


@router.post("/vector_stores/{vector_store_id}/files/{file_id}", summary="Update a file's attributes",
             responses=returns(VectorStoreFile))
async def update_file(vector_store_id: str, file_id: str, body: UpdateFileRequest,
                      impl: VectorIO = vector_io) -> Response:
    return JSONBody(await impl.update_file(vector_store_id, file_id, body))


@router.delete("/vector_stores/{vector_store_id}/files/{file_id}", summary="Detach a file",
             responses=returns(Deleted))
async def delete_file(vector_store_id: str, file_id: str, impl: VectorIO = vector_io) -> Response:
    return JSONBody(await impl.delete_file(vector_store_id, file_id))


@router.get("/vector_stores/{vector_store_id}/files/{file_id}/content", summary="A file's parsed content",
             responses=returns(VectorStoreFileContent))
async def get_file_content(vector_store_id: str, file_id: str, impl: VectorIO = vector_io) -> Response:
    return JSONBody(await impl.get_file_content(vector_store_id, file_id))


@router.post("/vector_stores/{vector_store_id}/file_batches", summary="Attach several files",
             responses=returns(VectorStoreFileBatch))
async def create_file_batch(vector_store_id: str, body: CreateFileBatchRequest,
                            impl: VectorIO = vector_io) -> Response:
    return JSONBody(await impl.create_file_batch(vector_store_id, body))


@router.get("/vector_stores/{vector_store_id}/file_batches/{batch_id}", summary="Retrieve a file batch",
             responses=returns(VectorStoreFileBatch))
async def get_file_batch(vector_store_id: str, batch_id: str, impl: VectorIO = vector_io) -> Response:
    return JSONBody(await impl.get_file_batch(vector_store_id, batch_id))


@router.get("/vector_stores/{vector_store_id}/file_batches/{batch_id}/files", summary="List a batch's files",
             responses=returns(ListPage[VectorStoreFile]))
async def list_file_batch_files(vector_store_id: str, batch_id: str, after: str | None = None,
                                before: str | None = None, limit: int = Query(default=20, ge=1, le=100),
                                order: Order = "desc", filter: StatusFilter | None = None,  # noqa: A002
                                impl: VectorIO = vector_io) -> Response:
    return JSONBody(await impl.list_file_batch_files(vector_store_id, batch_id, after=after, before=before,
                                                     limit=limit, order=order, status=filter))


@router.post("/vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel", summary="Cancel a file batch",
             responses=returns(VectorStoreFileBatch))
async def cancel_file_batch(vector_store_id: str, batch_id: str, impl: VectorIO = vector_io) -> Response:
    return JSONBody(await impl.cancel_file_batch(vector_store_id, batch_id))


@router.post("/vector-io/insert", summary="Insert pre-chunked content (Llama Stack)", status_code=204)
async def insert_chunks(body: InsertChunksRequest, impl: VectorIO = vector_io) -> Response:
    await impl.insert_chunks(body)
    return Response(status_code=204)


@router.post("/vector-io/query", summary="Query chunks (Llama Stack)", responses=returns(QueryChunksResponse))
async def query_chunks(body: QueryChunksRequest, impl: VectorIO = vector_io) -> Response:
    return JSONBody(await impl.query_chunks(body))
