"""Llama Stack's agent shapes: the agent config, messages, tool calls, steps, turns, sessions, stream chunks."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Llama Stack's InterleavedContent: a string, one content item, or a list of them (text, image).
Content = str | dict[str, Any] | list[str | dict[str, Any]]


class _Open(BaseModel):
    """A Llama Stack object we keep as sent (fields we do not use are echoed back, not refused)."""

    model_config = ConfigDict(extra="allow")


class ToolParameter(_Open):
    name: str
    parameter_type: str = "string"
    description: str | None = None
    required: bool = True
    default: Any = None
    items: dict[str, Any] | None = None
    title: str | None = None


class ClientTool(_Open):
    """A tool the client runs itself (Llama Stack's ToolDef): `parameters` (<=0.2) or `input_schema` (0.3)."""

    name: str = Field(min_length=1, pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    parameters: list[ToolParameter] | None = None
    input_schema: dict[str, Any] | None = None


class ToolGroupWithArgs(BaseModel):
    name: str = Field(min_length=1)
    args: dict[str, Any] = Field(default_factory=dict)


AgentToolGroup = str | ToolGroupWithArgs


class GreedyStrategy(BaseModel):
    type: Literal["greedy"] = "greedy"


class TopPStrategy(BaseModel):
    type: Literal["top_p"] = "top_p"
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=0.95, ge=0, le=1)


class TopKStrategy(BaseModel):
    type: Literal["top_k"] = "top_k"
    top_k: int = Field(ge=1)


class SamplingParams(_Open):
    strategy: Annotated[GreedyStrategy | TopPStrategy | TopKStrategy, Field(discriminator="type")] = Field(
        default_factory=GreedyStrategy)
    max_tokens: int | None = Field(default=0, ge=0)
    repetition_penalty: float | None = 1.0
    stop: list[str] | None = None


class ToolConfig(_Open):
    tool_choice: str | None = "auto"  # auto | required | none | a tool's name
    tool_prompt_format: str | None = None
    system_message_behavior: str | None = "append"


class JsonSchemaFormat(BaseModel):
    type: Literal["json_schema"] = "json_schema"
    json_schema: dict[str, Any]


class GrammarFormat(BaseModel):
    type: Literal["grammar"] = "grammar"
    bnf: dict[str, Any]


ResponseFormat = Annotated[JsonSchemaFormat | GrammarFormat, Field(discriminator="type")]


class AgentConfig(_Open):
    """What an agent is: its model, instructions, tools, shields and sampling (Llama Stack's AgentConfig)."""

    model: str = Field(min_length=1)
    instructions: str
    name: str | None = None
    sampling_params: SamplingParams | None = Field(default_factory=SamplingParams)
    input_shields: list[str] | None = Field(default_factory=list)
    output_shields: list[str] | None = Field(default_factory=list)
    toolgroups: list[AgentToolGroup] | None = Field(default_factory=list)
    client_tools: list[ClientTool] | None = Field(default_factory=list)
    tool_choice: str | None = None
    tool_prompt_format: str | None = None
    tool_config: ToolConfig | None = None
    max_infer_iters: int | None = Field(default=10, ge=1, le=100)
    enable_session_persistence: bool | None = False
    response_format: ResponseFormat | None = None


class CreateAgentRequest(BaseModel):
    agent_config: AgentConfig


class AgentCreated(BaseModel):
    agent_id: str


class Agent(BaseModel):
    agent_id: str
    agent_config: dict[str, Any]
    created_at: str


class CreateSessionRequest(BaseModel):
    session_name: str


class SessionCreated(BaseModel):
    session_id: str


class UserMessage(_Open):
    role: Literal["user"] = "user"
    content: Content
    context: Content | None = None


class ToolResponseMessage(_Open):
    role: Literal["tool"] = "tool"
    call_id: str = Field(min_length=1)
    content: Content


TurnMessage = Annotated[UserMessage | ToolResponseMessage, Field(discriminator="role")]


class Document(_Open):
    content: Content
    mime_type: str


class CreateTurnRequest(BaseModel):
    messages: list[TurnMessage] = Field(min_length=1)
    stream: bool | None = False
    documents: list[Document] | None = None
    toolgroups: list[AgentToolGroup] | None = None
    tool_config: ToolConfig | None = None


class ToolResponse(_Open):
    call_id: str = Field(min_length=1)
    tool_name: str
    content: Content
    metadata: dict[str, Any] | None = None


class ResumeTurnRequest(BaseModel):
    tool_responses: list[ToolResponse] = Field(min_length=1)
    stream: bool | None = False


class ToolCall(BaseModel):
    call_id: str
    tool_name: str
    arguments: str  # JSON, as Llama Stack 0.3 sends it


class CompletionMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: Content
    stop_reason: Literal["end_of_turn", "end_of_message", "out_of_tokens"]
    tool_calls: list[ToolCall] = Field(default_factory=list)


class _Step(BaseModel):
    turn_id: str
    step_id: str
    started_at: str | None = None
    completed_at: str | None = None


class InferenceStep(_Step):
    model_config = ConfigDict(protected_namespaces=())

    step_type: Literal["inference"] = "inference"
    model_response: CompletionMessage


class ToolExecutionStep(_Step):
    step_type: Literal["tool_execution"] = "tool_execution"
    tool_calls: list[ToolCall]
    tool_responses: list[dict[str, Any]]


class ShieldCallStep(_Step):
    step_type: Literal["shield_call"] = "shield_call"
    violation: dict[str, Any] | None = None


class MemoryRetrievalStep(_Step):
    step_type: Literal["memory_retrieval"] = "memory_retrieval"
    vector_db_ids: str
    inserted_context: Content


Step = Annotated[InferenceStep | ToolExecutionStep | ShieldCallStep | MemoryRetrievalStep,
                 Field(discriminator="step_type")]


class Turn(BaseModel):
    turn_id: str
    session_id: str
    input_messages: list[dict[str, Any]]
    steps: list[Step]
    output_message: CompletionMessage
    output_attachments: list[dict[str, Any]] = Field(default_factory=list)
    started_at: str
    completed_at: str | None = None


class Session(BaseModel):
    session_id: str
    session_name: str
    turns: list[Turn]
    started_at: str


class StepResponse(BaseModel):
    step: Step


class PaginatedResponse(BaseModel):
    data: list[dict[str, Any]]
    has_more: bool = False
    url: str | None = None


class TurnStreamChunk(BaseModel):
    """One `data:` line of a streamed turn: {"event": {"payload": {"event_type": ..., ...}}}."""

    event: dict[str, Any]
