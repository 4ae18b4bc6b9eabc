"""Responses items: the one vocabulary of Responses input, Responses output and Conversation items (OpenAI's shapes).

A caller sends input items (a message may be the short `{"role": ..., "content": "text"}` form, and may omit
its id); the server keeps and returns them normalised (`normalize_items`): every item has a `type` and an
`id`, a message's content is a list of parts and it has a `status`. Conversations store exactly what
Responses produce, so an item listed from a conversation can be sent back as input unchanged.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

ItemStatus = Literal["in_progress", "completed", "incomplete"]


class _Shape(BaseModel):
    """An OpenAI object. Unknown fields are dropped, not refused: clients send back output items of newer
    SDKs (with fields such as `phase`) as input, and that round trip must work."""

    model_config = ConfigDict(extra="ignore")


# ---- content parts ------------------------------------------------------------------------------


class InputText(_Shape):
    type: Literal["input_text"] = "input_text"
    text: str


class InputImage(_Shape):
    type: Literal["input_image"] = "input_image"
    image_url: str | None = None
    file_id: str | None = None
    detail: Literal["low", "high", "auto", "original"] = "auto"


class InputFile(_Shape):
    type: Literal["input_file"] = "input_file"
    file_id: str | None = None
    file_data: str | None = None
    file_url: str | None = None
    filename: str | None = None


class FileCitation(_Shape):
    type: Literal["file_citation"] = "file_citation"
    file_id: str
    filename: str
    index: int


class URLCitation(_Shape):
    type: Literal["url_citation"] = "url_citation"
    url: str
    title: str
    start_index: int
    end_index: int


class FilePath(_Shape):
    type: Literal["file_path"] = "file_path"
    file_id: str
    index: int


Annotation = Annotated[FileCitation | URLCitation | FilePath, Field(discriminator="type")]


class OutputTopLogprob(_Shape):
    """Named apart from chat's TopLogprob, so both keep a plain name in /openapi.json."""

    token: str
    bytes: list[int]
    logprob: float


TopLogprob = OutputTopLogprob


class Logprob(_Shape):
    token: str
    bytes: list[int]
    logprob: float
    top_logprobs: list[TopLogprob] = Field(default_factory=list)


class OutputText(_Shape):
    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[Annotation] = Field(default_factory=list)
    logprobs: list[Logprob] = Field(default_factory=list)


class Refusal(_Shape):
    type: Literal["refusal"] = "refusal"
    refusal: str


class SummaryText(_Shape):
    type: Literal["summary_text"] = "summary_text"
    text: str


class ReasoningText(_Shape):
    type: Literal["reasoning_text"] = "reasoning_text"
    text: str


InputPart = Annotated[InputText | InputImage | InputFile, Field(discriminator="type")]
MessagePart = Annotated[InputText | InputImage | InputFile | OutputText | Refusal, Field(discriminator="type")]


# ---- items --------------------------------------------------------------------------------------


class Message(_Shape):
    """A message: user, system and developer messages hold input parts, assistant messages output parts.

    The short input form `{"role": "user", "content": "hi"}` (no type, content a string) is accepted and
    normalised to parts.
    """

    type: Literal["message"] = "message"
    id: str | None = None
    role: Literal["user", "assistant", "system", "developer"]
    content: list[MessagePart]
    status: ItemStatus | None = None

    @model_validator(mode="before")
    @classmethod
    def _text_content_to_parts(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("content"), str):
            part = ({"type": "output_text", "text": data["content"]} if data.get("role") == "assistant"
                    else {"type": "input_text", "text": data["content"]})
            data = {**data, "content": [part]}
        return data

    @property
    def text(self) -> str:
        """The message's text parts joined (what a chat model reads)."""
        return "".join(part.text for part in self.content if isinstance(part, InputText | OutputText))


class FunctionCallItem(_Shape):
    """Named apart from chat's FunctionCall, so both keep a plain name in /openapi.json (alias: FunctionCall)."""

    type: Literal["function_call"] = "function_call"
    id: str | None = None
    call_id: str
    name: str
    arguments: str
    status: ItemStatus | None = None


FunctionCall = FunctionCallItem


class FunctionCallOutput(_Shape):
    type: Literal["function_call_output"] = "function_call_output"
    id: str | None = None
    call_id: str
    output: str | list[InputPart]
    status: ItemStatus | None = None


class FileSearchResult(_Shape):
    file_id: str
    filename: str
    score: float
    text: str
    attributes: dict[str, str | float | bool] = Field(default_factory=dict)


class FileSearchCall(_Shape):
    type: Literal["file_search_call"] = "file_search_call"
    id: str | None = None
    queries: list[str]
    status: Literal["in_progress", "searching", "completed", "incomplete", "failed"] = "completed"
    results: list[FileSearchResult] | None = None


class WebSearchSource(_Shape):
    type: Literal["url"] = "url"
    url: str


class WebSearchAction(_Shape):
    type: Literal["search"] = "search"
    query: str
    sources: list[WebSearchSource] | None = None


class WebSearchCall(_Shape):
    type: Literal["web_search_call"] = "web_search_call"
    id: str | None = None
    status: Literal["in_progress", "searching", "completed", "failed"] = "completed"
    action: WebSearchAction | None = None


class McpTool(_Shape):
    name: str
    input_schema: dict[str, Any]
    description: str | None = None
    annotations: dict[str, Any] | None = None


class McpListTools(_Shape):
    type: Literal["mcp_list_tools"] = "mcp_list_tools"
    id: str | None = None
    server_label: str
    tools: list[McpTool]
    error: str | None = None


class McpCall(_Shape):
    type: Literal["mcp_call"] = "mcp_call"
    id: str | None = None
    server_label: str
    name: str
    arguments: str
    output: str | None = None
    # OpenAI's error object: {type: mcp_protocol_error, code, message} | {type: mcp_tool_execution_error,
    # content} | {type: http_error, code, message}; a plain string (older clients) is accepted as input.
    error: str | dict[str, Any] | None = None
    status: Literal["in_progress", "completed", "incomplete", "calling", "failed"] | None = None
    approval_request_id: str | None = None


class McpApprovalRequest(_Shape):
    type: Literal["mcp_approval_request"] = "mcp_approval_request"
    id: str | None = None
    server_label: str
    name: str
    arguments: str


class McpApprovalResponse(_Shape):
    type: Literal["mcp_approval_response"] = "mcp_approval_response"
    id: str | None = None
    approval_request_id: str
    approve: bool
    reason: str | None = None


class Reasoning(_Shape):
    type: Literal["reasoning"] = "reasoning"
    id: str | None = None
    summary: list[SummaryText] = Field(default_factory=list)
    content: list[ReasoningText] | None = None
    encrypted_content: str | None = None
    status: ItemStatus | None = None


class Compaction(_Shape):
    """A conversation compacted by `POST /v1/responses/compact`: its summary, opaque to the client. Sent back
    as input, the server turns it into context again."""

    type: Literal["compaction"] = "compaction"
    id: str | None = None
    encrypted_content: str
    created_by: str | None = None


class ItemReference(_Shape):
    """Input only: an earlier item by id (the server looks it up in the response chain or conversation)."""

    type: Literal["item_reference"] = "item_reference"
    id: str


Item = Annotated[
    Message | FunctionCall | FunctionCallOutput | FileSearchCall | WebSearchCall | McpListTools | McpCall
    | McpApprovalRequest | McpApprovalResponse | Reasoning | Compaction,
    Field(discriminator="type"),
]
InputItem = Annotated[
    Message | FunctionCall | FunctionCallOutput | FileSearchCall | WebSearchCall | McpListTools | McpCall
    | McpApprovalRequest | McpApprovalResponse | Reasoning | Compaction | ItemReference,
    Field(discriminator="type"),
]
ITEMS: TypeAdapter[list[Item]] = TypeAdapter(list[Item])
INPUT_ITEMS: TypeAdapter[list[InputItem]] = TypeAdapter(list[InputItem])

# OpenAI's id prefixes, by item type
_ID_PREFIX = {
    "message": "msg", "function_call": "fc", "function_call_output": "fco", "file_search_call": "fs",
    "web_search_call": "ws", "mcp_list_tools": "mcpl", "mcp_call": "mcp", "mcp_approval_request": "mcpr",
    "mcp_approval_response": "mcpa", "reasoning": "rs",
    "compaction": "cmp",
}


def new_item_id(item_type: str) -> str:
    """A fresh id for an item of `item_type` (`msg_...`, `fc_...`), unique across replicas."""
    return f"{_ID_PREFIX.get(item_type, 'item')}_{uuid.uuid4().hex}"


def with_type(raw: Any) -> Any:
    """The short message form has no `type`: give it one, so the discriminated union can pick Message."""
    if isinstance(raw, dict) and "type" not in raw and "role" in raw:
        return {**raw, "type": "message"}
    return raw


def parse_items(raw: Iterable[Any]) -> list[InputItem]:
    """Validate input items (a pydantic ValidationError names the bad index and field)."""
    return INPUT_ITEMS.validate_python([with_type(item) for item in raw])


def normalize_items(items: Iterable[Item]) -> list[Item]:
    """Items as the server keeps them: each with an id and, where the type has one, a status."""
    kept: list[Item] = []
    for item in items:
        changes: dict[str, Any] = {}
        if item.id is None:
            changes["id"] = new_item_id(item.type)
        if "status" in type(item).model_fields and getattr(item, "status", None) is None:
            changes["status"] = "completed"
        kept.append(item.model_copy(update=changes) if changes else item)
    return kept


def input_text(text: str) -> list[Item]:
    """A string `input`: one user message."""
    return [Message(role="user", content=[InputText(text=text)])]
