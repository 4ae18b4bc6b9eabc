"""HTTP routes of the Responses API (OpenAI's paths; the list of responses is Llama Stack's)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, WebSocket
from pydantic import BaseModel
from starlette.responses import Response

from polystack.apis.datatypes import Api
from polystack.apis.documented import ListPage, returns
from polystack.apis.http import JSONBody, impl_of, respond
from polystack.apis.responses.protocol import Responses
from polystack.apis.responses.types import (
    CompactedResponse,
    CompactRequest,
    CreateResponseRequest,
    DeletedResponse,
    InputTokens,
    InputTokensRequest,
    ResponseObject,
)

router = APIRouter(tags=["responses"])
responses = Depends(impl_of(Api.responses))


class ResponseWithInput(ResponseObject):
    input: list[dict[str, Any]]


@router.post("/responses", summary="Create a response (SSE when stream=true)", responses=returns(ResponseObject))
async def create_response(body: CreateResponseRequest, impl: Responses = responses) -> Response:
    return await respond(await impl.create_response(body))


@router.post("/responses/compact", summary="Compact a conversation into its user messages and a compaction item",
             responses=returns(CompactedResponse))
async def compact_response(body: CompactRequest, impl: Responses = responses) -> Response:
    return JSONBody(await impl.compact_response(body))


@router.websocket("/responses")
async def responses_websocket(socket: WebSocket) -> None:
    """The WebSocket mode: `response.create` messages in, the same events as SSE out, one response at a time."""
    impl: Responses = socket.app.state.impls[Api.responses]
    await impl.serve_websocket(socket)


@router.post("/responses/input_tokens", summary="Count the input tokens of a response request",
             responses=returns(InputTokens))
async def count_input_tokens(body: InputTokensRequest, impl: Responses = responses) -> Response:
    return JSONBody(await impl.count_input_tokens(body))


@router.get("/responses", summary="List stored responses (Llama Stack)", responses=returns(ListPage[ResponseWithInput]))
async def list_responses(
    after: str | None = Query(default=None, description="Continue after this response id."),
    limit: int = Query(default=50, ge=1, le=1000),
    model: str | None = None,
    order: Literal["asc", "desc"] = "desc",
    impl: Responses = responses,
) -> Response:
    return JSONBody(await impl.list_responses(after=after, limit=limit, model=model, order=order))


_RESPONSE_INCLUDE = Query(default=None, description="Accepted for OpenAI compatibility (output is returned whole).")


@router.get("/responses/{response_id}", summary="Retrieve a stored response (stream=true: a background "
            "response's events again)", responses=returns(ResponseObject))
async def get_response(
    response_id: str,
    stream: bool = Query(default=False, description="Stream a background response's events (SSE)."),
    starting_after: int | None = Query(default=None, description="With stream: the events after this sequence "
                                       "number."),
    include: list[str] | None = _RESPONSE_INCLUDE,
    impl: Responses = responses,
) -> Response:
    if stream:
        return await respond(await impl.stream_response(response_id, starting_after))
    return JSONBody(await impl.get_response(response_id))


@router.post("/responses/{response_id}/cancel", summary="Cancel a background response",
             responses=returns(ResponseObject))
async def cancel_response(response_id: str, impl: Responses = responses) -> Response:
    return JSONBody(await impl.cancel_response(response_id))


@router.delete("/responses/{response_id}", summary="Delete a stored response", responses=returns(DeletedResponse))
async def delete_response(response_id: str, impl: Responses = responses) -> Response:
    return JSONBody(await impl.delete_response(response_id))


class InputItemList(BaseModel):
    object: Literal["list"] = "list"
    data: list[dict[str, Any]]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


_INCLUDE = Query(default=None, description="Accepted for OpenAI compatibility (input items are returned whole).")


@router.get("/responses/{response_id}/input_items", summary="List a stored response's input items",
            responses=returns(InputItemList))
async def list_input_items(
    response_id: str,
    after: str | None = None,
    before: str | None = None,
    limit: int = Query(default=20, ge=1, le=100),
    order: Literal["asc", "desc"] = "desc",
    include: list[str] | None = _INCLUDE,
    impl: Responses = responses,
) -> Response:
    return JSONBody(await impl.list_input_items(response_id, after=after, before=before, limit=limit, order=order))
