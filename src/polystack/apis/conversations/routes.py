"""HTTP routes of the Conversations API (OpenAI paths): conversations, and the items inside them."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from polystack.apis.conversations.protocol import Conversations
from polystack.apis.conversations.types import (
    INCLUDABLE,
    AddItemsRequest,
    Conversation,
    ConversationDeleted,
    ConversationItemList,
    CreateConversationRequest,
    UpdateConversationRequest,
)
from polystack.apis.datatypes import Api
from polystack.apis.documented import returns
from polystack.apis.errors import InvalidRequestError
from polystack.apis.http import JSONBody, impl_of

router = APIRouter(tags=["conversations"])
conversations = Depends(impl_of(Api.conversations))


_INCLUDE = Query(default=None, description="Extra item data to return (OpenAI's includables).")
_INCLUDE_BRACKETS = Query(default=None, alias="include[]", description="The same, as the openai SDK sends it.")


async def included(include: list[str] | None = _INCLUDE, include_brackets: list[str] | None = _INCLUDE_BRACKETS
                   ) -> list[str]:
    """`include` as `include=a&include=b` or `include[]=a` (the openai SDK's form); unknown values are a 400."""
    values = [*(include or []), *(include_brackets or [])]
    for value in values:
        if value not in INCLUDABLE:
            raise InvalidRequestError(f"Invalid value for 'include': '{value}'. Expected one of: "
                                      f"{', '.join(sorted(INCLUDABLE))}.", param="include")
    return values


include_param = Depends(included)


@router.post("/conversations", summary="Create a conversation", responses=returns(Conversation))
async def create_conversation(body: CreateConversationRequest, impl: Conversations = conversations) -> Response:
    return JSONBody(await impl.create_conversation(body))


@router.get("/conversations/{conversation_id}", summary="Retrieve a conversation", responses=returns(Conversation))
async def get_conversation(conversation_id: str, impl: Conversations = conversations) -> Response:
    return JSONBody(await impl.get_conversation(conversation_id))


@router.post("/conversations/{conversation_id}", summary="Update a conversation's metadata",
             responses=returns(Conversation))
async def update_conversation(conversation_id: str, body: UpdateConversationRequest,
                              impl: Conversations = conversations) -> Response:
    return JSONBody(await impl.update_conversation(conversation_id, body))


@router.delete("/conversations/{conversation_id}", summary="Delete a conversation and its items",
               responses=returns(ConversationDeleted))
async def delete_conversation(conversation_id: str, impl: Conversations = conversations) -> Response:
    return JSONBody(await impl.delete_conversation(conversation_id))


@router.post("/conversations/{conversation_id}/items", summary="Add items to a conversation",
             responses=returns(ConversationItemList))
async def add_items(conversation_id: str, body: AddItemsRequest, include: list[str] = include_param,
                    impl: Conversations = conversations) -> Response:
    return JSONBody(await impl.add_items(conversation_id, body.items, include))


@router.get("/conversations/{conversation_id}/items", summary="List a conversation's items",
            responses=returns(ConversationItemList))
async def list_items(
    conversation_id: str,
    after: str | None = Query(default=None, description="Continue after this item id."),
    limit: int = Query(default=20, ge=1, le=100),
    order: Literal["asc", "desc"] = "desc",
    include: list[str] = include_param,
    impl: Conversations = conversations,
) -> Response:
    return JSONBody(await impl.list_items(conversation_id, after=after, limit=limit, order=order, include=include))


@router.get("/conversations/{conversation_id}/items/{item_id}", summary="Retrieve an item of a conversation",
            responses=returns(dict[str, Any]))  # an item (apis/responses/items.py)
async def get_item(conversation_id: str, item_id: str, include: list[str] = include_param,
                   impl: Conversations = conversations) -> Response:
    return JSONBody(await impl.get_item(conversation_id, item_id, include))


@router.delete("/conversations/{conversation_id}/items/{item_id}", summary="Delete an item of a conversation",
               responses=returns(Conversation))
async def delete_item(conversation_id: str, item_id: str, impl: Conversations = conversations) -> Response:
    return JSONBody(await impl.delete_item(conversation_id, item_id))
