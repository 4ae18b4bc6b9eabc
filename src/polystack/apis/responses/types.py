"""Responses request and response objects (OpenAI's `POST /v1/responses` and its `Response`, plus Llama Stack's
`max_infer_iters`); the items they carry are in items.py."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from polystack.apis.responses.items import Item

MAX_TOOLS = 128
FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class _Strict(BaseModel):
    """A request part: an unknown field is a 400 naming it, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


class _Shape(BaseModel):
    """A part of the response object as OpenAI's SDK parses it (every field written, nulls included)."""

    model_config = ConfigDict(extra="ignore")


# ---- tools --------------------------------------------------------------------------------------


class FunctionTool(_Strict):
    type: Literal["function"] = "function"
    name: str = Field(pattern=FUNCTION_NAME.pattern)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None

    @field_validator("parameters")
    @classmethod
    def _an_object_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        """The checks every provider relies on (a full JSON Schema check is the provider's)."""
        if value is None:
            return value
        if value.get("type", "object") != "object":
            raise ValueError("a function's parameters must be a JSON Schema of type 'object'")
        properties = value.get("properties", {})
        if not isinstance(properties, dict) or not all(isinstance(p, dict) for p in properties.values()):
            raise ValueError("'properties' must map each parameter name to a JSON Schema object")
        required = value.get("required", [])
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise ValueError("'required' must be a list of parameter names")
        return value


class HybridSearch(_Strict):
    embedding_weight: float = Field(ge=0)
    text_weight: float = Field(ge=0)

    @model_validator(mode="after")
    def _some_weight(self) -> HybridSearch:
        if self.embedding_weight + self.text_weight <= 0:
            raise ValueError("embedding_weight and text_weight cannot both be 0")
        return self


class FileSearchRankingOptions(_Strict):
    ranker: str | None = None
    score_threshold: float | None = Field(default=None, ge=0, le=1)
    hybrid_search: HybridSearch | None = Field(
        default=None, description="Vector and keyword search together, their scores weighted as given.")


class FileSearchTool(_Strict):
    type: Literal["file_search"] = "file_search"
    vector_store_ids: list[str] = Field(min_length=1)
    max_num_results: int | None = Field(default=None, ge=1, le=50)
    filters: dict[str, Any] | None = None
    ranking_options: FileSearchRankingOptions | None = None


class WebSearchTool(_Strict):
    type: Literal["web_search", "web_search_preview", "web_search_2025_08_26", "web_search_preview_2025_03_11"]
    search_context_size: Literal["low", "medium", "high"] | None = None
    user_location: dict[str, Any] | None = None
    filters: dict[str, Any] | None = None


class McpToolFilter(_Strict):
    tool_names: list[str] | None = None
    read_only: bool | None = None


class McpApprovalFilter(_Strict):
    always: McpToolFilter | None = None
    never: McpToolFilter | None = None


class McpServerTool(_Strict):
    type: Literal["mcp"] = "mcp"
    server_label: str = Field(min_length=1)
    server_url: str | None = None
    connector_id: str | None = None
    server_description: str | None = None
    headers: dict[str, str] | None = None
    authorization: str | None = None
    allowed_tools: list[str] | McpToolFilter | None = None
    require_approval: Literal["always", "never"] | McpApprovalFilter | None = None


RequestTool = Annotated[FunctionTool | FileSearchTool | WebSearchTool | McpServerTool, Field(discriminator="type")]


class FunctionChoice(_Strict):
    type: Literal["function"] = "function"
    name: str


class HostedToolChoice(_Strict):
    type: Literal["file_search", "web_search", "web_search_preview", "web_search_preview_2025_03_11"]


class McpChoice(_Strict):
    type: Literal["mcp"] = "mcp"
    server_label: str
    name: str | None = None


class AllowedToolsChoice(_Strict):
    type: Literal["allowed_tools"] = "allowed_tools"
    mode: Literal["auto", "required"]
    tools: list[dict[str, Any]]


ToolChoice = (Literal["none", "auto", "required"]
              | Annotated[FunctionChoice | HostedToolChoice | McpChoice | AllowedToolsChoice,
                          Field(discriminator="type")])


# ---- text format, reasoning, prompt, conversation ----------------------------------------------


class TextFormatText(_Strict):
    type: Literal["text"] = "text"


class TextFormatJSONObject(_Strict):
    type: Literal["json_object"] = "json_object"


class TextFormatJSONSchema(_Strict):
    type: Literal["json_schema"] = "json_schema"
    name: str = Field(pattern=FUNCTION_NAME.pattern)
    schema_: dict[str, Any] = Field(alias="schema")
    description: str | None = None
    strict: bool | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


TextFormat = Annotated[TextFormatText | TextFormatJSONObject | TextFormatJSONSchema, Field(discriminator="type")]


class TextConfig(_Strict):
    format: TextFormat | None = None
    verbosity: Literal["low", "medium", "high"] | None = None


class ReasoningConfig(_Strict):
    effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None
    generate_summary: Literal["auto", "concise", "detailed"] | None = None


class PromptReference(_Strict):
    id: str = Field(min_length=1)
    version: str | None = None
    variables: dict[str, str] | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class ConversationReference(_Strict):
    id: str = Field(min_length=1)


class ResponseStreamOptions(_Strict):
    include_obfuscation: bool | None = None


Include = Literal[
    "file_search_call.results", "web_search_call.results", "web_search_call.action.sources",
    "message.input_image.image_url", "computer_call_output.output.image_url", "code_interpreter_call.outputs",
    "reasoning.encrypted_content", "message.output_text.logprobs",
]


# ---- the request --------------------------------------------------------------------------------


class CreateResponseRequest(_Strict):
    """POST /v1/responses. Every field OpenAI defines that this server honours; any other field is a 400."""

    model: str = Field(min_length=1)
    input: str | list[dict[str, Any]] = Field(description="A user message's text, or input items.")
    instructions: str | None = None
    previous_response_id: str | None = None
    conversation: str | ConversationReference | None = None
    store: bool = True
    stream: bool = False
    stream_options: ResponseStreamOptions | None = None
    background: bool = False
    tools: list[RequestTool] = Field(default_factory=list, max_length=MAX_TOOLS)
    tool_choice: ToolChoice = "auto"
    parallel_tool_calls: bool = True
    max_tool_calls: int | None = Field(default=None, ge=1)
    max_output_tokens: int | None = Field(default=None, ge=1, le=2**31 - 1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    text: TextConfig | None = None
    include: list[Include] = Field(default_factory=list)
    metadata: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=512)]] | None = Field(
        default=None, max_length=16, description="At most 16 pairs; keys up to 64 characters, values up to 512.")
    truncation: Literal["auto", "disabled"] = "disabled"
    reasoning: ReasoningConfig | None = None
    prompt: PromptReference | None = None
    prompt_cache_key: str | None = None
    safety_identifier: str | None = Field(default=None, max_length=64)
    user: str | None = None
    service_tier: Literal["auto", "default"] | None = None
    max_infer_iters: int = Field(default=10, ge=1, le=100, description="Llama Stack: inference calls at most.")
    guardrails: list[Any] | None = Field(
        default=None, description="Llama Stack (extra_body): shield ids run on the input and on the answer, with "
        "those the run config's safety.guardrails names for the model.")

    @model_validator(mode="wrap")
    @classmethod
    def _errors_name_fields(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        return untagged_errors(data, handler)

    @model_validator(mode="after")
    def _consistent(self) -> CreateResponseRequest:
        if self.previous_response_id is not None and self.conversation is not None:
            raise ValueError("'previous_response_id' and 'conversation' cannot be used together")
        names = [tool.name for tool in self.tools if isinstance(tool, FunctionTool)]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"function names must be unique in 'tools': {', '.join(duplicates)} repeated")
        choice = self.tool_choice
        if isinstance(choice, FunctionChoice) and choice.name not in names:
            raise ValueError(f"tool_choice names function '{choice.name}', which is not in 'tools'")
        if choice == "required" and not self.tools:
            raise ValueError("tool_choice 'required' needs a non-empty 'tools' list")
        return self

    @property
    def conversation_id(self) -> str | None:
        conversation = self.conversation
        return conversation.id if isinstance(conversation, ConversationReference) else conversation


def untagged_errors(data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Validate, naming a bad tool's field as `tools[0].name`: without the union's tag (`tools[0].function.name`)."""
    try:
        return handler(data)
    except ValidationError as exc:
        errors = exc.errors()
        if not any(error["loc"][:1] in (("tools",), ("tool_choice",), ("text",)) for error in errors):
            raise
        fixed = []
        for error in errors:
            loc = list(error["loc"])
            if loc[:1] == ["tools"] and len(loc) > 2 and isinstance(loc[2], str):
                del loc[2]
            elif loc[:1] == ["tool_choice"] and len(loc) > 1 and isinstance(loc[1], str) and "[" not in loc[1]:
                del loc[1]
            elif loc[:2] == ["text", "format"] and len(loc) > 2 and isinstance(loc[2], str):
                del loc[2]
            fixed.append({"type": error["type"], "loc": tuple(loc), "input": error["input"],
                          "ctx": error.get("ctx", {})})
        raise ValidationError.from_exception_data(exc.title, fixed) from None  # type: ignore[arg-type]


# ---- the response object -----------------------------------------------------------------------


class InputTokensDetails(_Shape):
    cached_tokens: int = 0
    cache_write_tokens: int = 0


class OutputTokensDetails(_Shape):
    reasoning_tokens: int = 0


class Usage(_Shape):
    input_tokens: int = 0
    input_tokens_details: InputTokensDetails = Field(default_factory=InputTokensDetails)
    output_tokens: int = 0
    output_tokens_details: OutputTokensDetails = Field(default_factory=OutputTokensDetails)
    total_tokens: int = 0

    def add(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0, reasoning_tokens: int = 0) -> None:
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.total_tokens = self.input_tokens + self.output_tokens
        self.input_tokens_details.cached_tokens += cached_tokens
        self.output_tokens_details.reasoning_tokens += reasoning_tokens


class ResponseError(_Shape):
    code: str
    message: str
    param: str | None = None
    type: str | None = None


class IncompleteDetails(_Shape):
    reason: Literal["max_output_tokens", "content_filter"] | None = None


class ConversationRef(_Shape):
    id: str


class ResponsePrompt(_Shape):
    id: str
    variables: dict[str, str] | None = None
    version: str | None = None


ResponseStatus = Literal["completed", "failed", "in_progress", "cancelled", "queued", "incomplete"]


class ShieldCall(_Shape):
    """One shield's verdict on one text of a response: the input, or the answer so far (`output`)."""

    shield_id: str
    stage: Literal["input", "output"]
    verdict: str = Field(description="pass, violation (categories...), or error (passed: fail_open).")


class ResponseObject(_Shape):
    """OpenAI's `Response`, every field it defines that this server can fill, with its nullability."""

    id: str
    object: Literal["response"] = "response"
    created_at: int
    status: ResponseStatus
    completed_at: int | None = None
    error: ResponseError | None = None
    incomplete_details: IncompleteDetails | None = None
    instructions: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    model: str
    output: list[Item] = Field(default_factory=list)
    parallel_tool_calls: bool = True
    temperature: float | None = None
    tool_choice: Any = "auto"
    tools: list[dict[str, Any]] = Field(default_factory=list)
    top_p: float | None = None
    background: bool = False
    conversation: ConversationRef | None = None
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    previous_response_id: str | None = None
    prompt: ResponsePrompt | None = None
    reasoning: dict[str, Any] | None = None
    safety_identifier: str | None = None
    service_tier: str | None = None
    store: bool = True
    text: dict[str, Any] = Field(default_factory=lambda: {"format": {"type": "text"}})
    top_logprobs: int | None = None
    truncation: Literal["auto", "disabled"] = "disabled"
    usage: Usage | None = None
    user: str | None = None
    guardrails: list[ShieldCall] | None = Field(
        default=None, exclude_if=lambda calls: calls is None,
        description="Polystack: every shield call of this response's guardrails (absent when none ran). OpenAI's "
        "SDK ignores it; `metadata` stays the caller's own.")


class DeletedResponse(BaseModel):
    id: str
    object: Literal["response"] = "response"
    deleted: bool = True


class InputTokens(BaseModel):
    object: Literal["response.input_tokens"] = "response.input_tokens"
    input_tokens: int


class InputTokensRequest(_Strict):
    """POST /v1/responses/input_tokens: the request's context, counted without running it."""

    model: str | None = None
    input: str | list[dict[str, Any]] | None = None
    instructions: str | None = None
    previous_response_id: str | None = None
    conversation: str | ConversationReference | None = None
    tools: list[RequestTool] = Field(default_factory=list, max_length=MAX_TOOLS)
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    text: TextConfig | None = None
    reasoning: ReasoningConfig | None = None
    truncation: Literal["auto", "disabled"] | None = None
    personality: str | None = None  # OpenAI's: changes no count here


# ---- compaction (POST /v1/responses/compact) ----------------------------------------------------


class CompactRequest(_Strict):
    """POST /v1/responses/compact: the conversation to compact (items and/or a previous response's chain)."""

    model: str = Field(min_length=1)
    input: str | list[dict[str, Any]] | None = None
    instructions: str | None = Field(default=None, description="Guidance for the summary (what to keep).")
    previous_response_id: str | None = None
    prompt_cache_key: str | None = Field(default=None, description="Accepted; a hint this server ignores.")
    prompt_cache_retention: Literal["in_memory", "24h"] | None = Field(
        default=None, description="Accepted; a hint this server ignores.")
    service_tier: Literal["auto", "default"] | None = None


class CompactedResponse(_Shape):
    """OpenAI's `CompactedResponse`: the conversation's user messages, then one compaction item."""

    id: str
    object: Literal["response.compaction"] = "response.compaction"
    created_at: int
    output: list[Item]
    usage: Usage
