"""OpenAI-shaped inference request types (result objects are in results.py, re-exported here).

Requests accept unknown fields (`extra="allow"`), as OpenAI-compatible servers do, so providers
can receive vendor extensions sent through the SDK's `extra_body`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from polystack.apis.inference.results import (
    ChatCompletion,
    ChatCompletionChunk,
    Completion,
    CompletionChunk,
    CreateEmbeddingResponse,
    Embedding,
)

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "Completion",
    "CompletionChunk",
    "CreateEmbeddingResponse",
    "Embedding",
]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# ---- limits: what one request may carry (OpenAI's where it documents one) ---------------------------

MAX_MESSAGES = 4096
MAX_TOOLS = 128  # OpenAI: "A max of 128 functions are supported."
MAX_STOP_SEQUENCES = 16  # OpenAI documents 4; OpenAI-compatible servers accept more
MAX_BATCH_INPUTS = 2048  # OpenAI: embeddings input "must be ... 2048 dimensions or less" per array
MAX_TOKEN_IDS = 131072  # token ids in one prompt or one embeddings input
MAX_TOKEN_IDS_PER_REQUEST = 300_000  # OpenAI's cap on the tokens of all embeddings inputs of one request
MAX_LOGIT_BIAS = 1024
MAX_TOKENS = 2**31 - 1  # max_tokens and friends fit a C int, which every inference engine uses
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

TokenId = Annotated[int, Field(ge=0, le=2**31 - 1)]
TokenIds = Annotated[list[TokenId], Field(min_length=1, max_length=MAX_TOKEN_IDS)]
Seed = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX, description="Any 64-bit signed integer.")]
Stop = str | Annotated[list[str], Field(max_length=MAX_STOP_SEQUENCES)]
T = TypeVar("T")
Batch = Annotated[list[T], Field(max_length=MAX_BATCH_INPUTS)]


# ---- message content -------------------------------------------------------------------------


class TextPart(_Open):
    type: Literal["text"]
    text: str


class ImageURL(_Open):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Open):
    type: Literal["image_url"]
    image_url: ImageURL


class InputAudio(_Open):
    data: str
    format: str


class AudioPart(_Open):
    type: Literal["input_audio"]
    input_audio: InputAudio


class FilePart(_Open):
    type: Literal["file"]
    file: dict[str, Any]


class RefusalPart(_Open):
    type: Literal["refusal"]
    refusal: str


ContentPart = Annotated[TextPart | ImagePart | AudioPart | FilePart | RefusalPart, Field(discriminator="type")]


# ---- messages ---------------------------------------------------------------------------------


class FunctionCall(_Open):
    name: str
    arguments: str


class ToolCall(_Open):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class SystemMessage(_Open):
    role: Literal["system"]
    content: str | list[TextPart]
    name: str | None = None


class DeveloperMessage(_Open):
    role: Literal["developer"]
    content: str | list[TextPart]
    name: str | None = None


class UserMessage(_Open):
    role: Literal["user"]
    content: str | list[ContentPart]
    name: str | None = None


class AssistantMessage(_Open):
    role: Literal["assistant"]
    content: str | list[TextPart | RefusalPart] | None = None
    name: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] | None = None

    @model_validator(mode="after")
    def _has_content_or_calls(self) -> AssistantMessage:
        if self.content is None and not self.tool_calls:
            raise ValueError("an assistant message needs 'content' or 'tool_calls'")
        return self


class ToolMessage(_Open):
    role: Literal["tool"]
    content: str | list[TextPart]
    tool_call_id: str


Message = Annotated[
    SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage,
    Field(discriminator="role"),
]


def text_of(content: str | list[Any] | None) -> str:
    """The plain text of a message's content (text parts joined; other parts skipped)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.text for part in content if isinstance(part, TextPart))


# ---- tools and formats ------------------------------------------------------------------------


class FunctionDefinition(_Open):
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Open):
    type: Literal["function"]
    function: FunctionDefinition


class NamedFunction(_Open):
    name: str


class NamedToolChoice(_Open):
    type: Literal["function"]
    function: NamedFunction


ToolChoice = Literal["none", "auto", "required"] | NamedToolChoice


class JSONSchemaSpec(_Open):
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class TextFormat(_Open):
    type: Literal["text"]


class JSONObjectFormat(_Open):
    type: Literal["json_object"]


class JSONSchemaFormat(_Open):
    type: Literal["json_schema"]
    json_schema: JSONSchemaSpec


ResponseFormat = Annotated[TextFormat | JSONObjectFormat | JSONSchemaFormat, Field(discriminator="type")]


class StreamOptions(_Open):
    include_usage: bool | None = None


# ---- requests ---------------------------------------------------------------------------------


class ChatCompletionRequest(_Open):
    """POST /v1/chat/completions."""

    model: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES, description=f"At most {MAX_MESSAGES}.")
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS)
    stop: Stop | None = Field(default=None, description=f"At most {MAX_STOP_SEQUENCES} sequences.")
    seed: Seed | None = None
    n: int | None = Field(default=None, ge=1, le=128)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    logit_bias: dict[str, float] | None = Field(default=None, max_length=MAX_LOGIT_BIAS)
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    response_format: ResponseFormat | None = None
    tools: list[Tool] | None = Field(default=None, max_length=MAX_TOOLS, description=f"At most {MAX_TOOLS}.")
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None

    @model_validator(mode="after")
    def _check_tool_choice(self) -> ChatCompletionRequest:
        choice = self.tool_choice
        if isinstance(choice, NamedToolChoice):
            names = {tool.function.name for tool in self.tools or []}
            if choice.function.name not in names:
                raise ValueError(f"tool_choice names function '{choice.function.name}', which is not in 'tools'")
        elif choice == "required" and not self.tools:
            raise ValueError("tool_choice 'required' needs a non-empty 'tools' list")
        if self.top_logprobs is not None and not self.logprobs:
            raise ValueError("'top_logprobs' requires 'logprobs' to be true")
        return self

    @property
    def max_output_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    @property
    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


class CompletionRequest(_Open):
    """POST /v1/completions (legacy)."""

    model: str = Field(min_length=1)
    prompt: str | Batch[str] | TokenIds | Batch[TokenIds] = Field(
        description=f"Text or token ids; a batch holds at most {MAX_BATCH_INPUTS}, each at most {MAX_TOKEN_IDS} ids."
    )
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stop: Stop | None = Field(default=None, description=f"At most {MAX_STOP_SEQUENCES} sequences.")
    n: int | None = Field(default=None, ge=1, le=128)
    seed: Seed | None = None
    echo: bool | None = None
    logprobs: int | None = Field(default=None, ge=0, le=5)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    best_of: int | None = Field(default=None, ge=1, le=128)
    suffix: str | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    user: str | None = None

    @field_validator("prompt")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        return check_token_total(value)

    @property
    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


def check_token_total(value: Any) -> Any:
    """A batch of token-id lists holds at most MAX_TOKEN_IDS_PER_REQUEST ids in all."""
    if isinstance(value, list) and value and isinstance(value[0], list):
        total = sum(len(ids) for ids in value)
        if total > MAX_TOKEN_IDS_PER_REQUEST:
            raise ValueError(f"{total} token ids in all; at most {MAX_TOKEN_IDS_PER_REQUEST} per request")
    return value


class EmbeddingsRequest(_Open):
    """POST /v1/embeddings."""

    model: str = Field(min_length=1)
    input: str | Batch[str] | TokenIds | Batch[TokenIds] = Field(
        description=f"Text or token ids; at most {MAX_BATCH_INPUTS} inputs, each at most {MAX_TOKEN_IDS} ids."
    )
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = Field(default=None, ge=1, le=65536)
    user: str | None = None

    @model_validator(mode="after")
    def _non_empty(self) -> EmbeddingsRequest:
        if isinstance(self.input, list) and not self.input:
            raise ValueError("'input' must not be an empty list")
        return self

    @field_validator("input")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        return check_token_total(value)

    @property
    def texts(self) -> list[str] | None:
        """The input as a list of strings, or None when it is given as token ids."""
        if isinstance(self.input, str):
            return [self.input]
        if all(isinstance(item, str) for item in self.input):
            return list(self.input)  # type: ignore[arg-type]
        return None
