"""Conversation objects, the request bodies and the list/delete shapes of OpenAI's Conversations API."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# OpenAI's limits: 16 metadata pairs, keys up to 64 characters, values up to 512; 20 items per call
MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 512
MAX_ITEMS_PER_CALL = 20


def _metadata_limits(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_METADATA_PAIRS:
        raise ValueError(f"at most {MAX_METADATA_PAIRS} key-value pairs, got {len(value)}")
    for key, text in value.items():
        if len(key) > MAX_METADATA_KEY:
            raise ValueError(f"key '{key[:20]}...' is longer than {MAX_METADATA_KEY} characters")
        if len(text) > MAX_METADATA_VALUE:
            raise ValueError(f"the value of '{key}' is longer than {MAX_METADATA_VALUE} characters")
    return value


Metadata = Annotated[dict[str, str], AfterValidator(_metadata_limits)]

# OpenAI's ResponseIncludable: what `include` may name
Includable = Literal[
    "file_search_call.results",
    "web_search_call.results",
    "web_search_call.action.sources",
    "message.input_image.image_url",
    "computer_call_output.output.image_url",
    "code_interpreter_call.outputs",
    "reasoning.encrypted_content",
    "message.output_text.logprobs",
]
INCLUDABLE: frozenset[str] = frozenset(get_args(Includable))


class CreateConversationRequest(BaseModel):
    """POST /v1/conversations. Items stay raw here: the store validates them, naming `items[i].field`."""

    model_config = ConfigDict(extra="forbid")

    items: list[Any] | None = Field(default=None, max_length=MAX_ITEMS_PER_CALL)
    metadata: Metadata | None = None


class UpdateConversationRequest(BaseModel):
    """POST /v1/conversations/{id}: the metadata replaces the old one (null clears it)."""

    model_config = ConfigDict(extra="forbid")

    metadata: Metadata | None


class AddItemsRequest(BaseModel):
    """POST /v1/conversations/{id}/items."""

    model_config = ConfigDict(extra="forbid")

    items: list[Any] = Field(min_length=1, max_length=MAX_ITEMS_PER_CALL)


class Conversation(BaseModel):
    """OpenAI's `conversation` object; created_at in seconds."""

    id: str
    object: Literal["conversation"] = "conversation"
    created_at: int
    metadata: dict[str, str] = Field(default_factory=dict)


class ConversationDeleted(BaseModel):
    id: str
    object: Literal["conversation.deleted"] = "conversation.deleted"
    deleted: bool = True


class ConversationItemList(BaseModel):
    """OpenAI's item list: items as their JSON (see apis/responses/items.py); ids '' when empty, as OpenAI
    types them as strings."""

    object: Literal["list"] = "list"
    data: list[dict[str, Any]]
    first_id: str = ""
    last_id: str = ""
    has_more: bool = False
