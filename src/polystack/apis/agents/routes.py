"""HTTP routes of the Agents API (Llama Stack's /v1alpha/agents paths; also at the deprecated /v1)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from polystack.apis.agents.protocol import Agents
from polystack.apis.agents.types import (
    Agent,
    AgentCreated,
    CreateAgentRequest,
    CreateSessionRequest,
    CreateTurnRequest,
    PaginatedResponse,
    ResumeTurnRequest,
    Session,
    SessionCreated,
    StepResponse,
    Turn,
)
from polystack.apis.datatypes import Api
from polystack.apis.documented import returns
from polystack.apis.http import JSONBody, impl_of, respond

router = APIRouter(tags=["agents"])
agents = Depends(impl_of(Api.agents))
_START = Query(default=None, ge=0, description="The index of the first item returned.")
_LIMIT = Query(default=None, ge=1, description="How many items at most.")
_TURN_IDS = Query(default=None, description="Only these turns.")
_TURN = "/agents/{agent_id}/session/{session_id}/turn"


@router.post("/agents", summary="Create an agent from an agent config", responses=returns(AgentCreated))
async def create_agent(body: CreateAgentRequest, impl: Agents = agents) -> Response:
    return JSONBody(await impl.create_agent(body.agent_config))


@router.get("/agents", summary="List agents", responses=returns(PaginatedResponse))
async def list_agents(start_index: int | None = _START, limit: int | None = _LIMIT, impl: Agents = agents
                      ) -> Response:
    return JSONBody(await impl.list_agents(start_index, limit))


@router.get("/agents/{agent_id}", summary="Describe an agent", responses=returns(Agent))
async def get_agent(agent_id: str, impl: Agents = agents) -> Response:
    return JSONBody(await impl.get_agent(agent_id))


@router.delete("/agents/{agent_id}", summary="Delete an agent with its sessions and turns", status_code=204)
async def delete_agent(agent_id: str, impl: Agents = agents) -> Response:
    await impl.delete_agent(agent_id)
    return Response(status_code=204)


@router.post("/agents/{agent_id}/session", summary="Create a session", responses=returns(SessionCreated))
async def create_session(agent_id: str, body: CreateSessionRequest, impl: Agents = agents) -> Response:
    return JSONBody(await impl.create_session(agent_id, body.session_name))


@router.get("/agents/{agent_id}/sessions", summary="List an agent's sessions", responses=returns(PaginatedResponse))
async def list_sessions(agent_id: str, start_index: int | None = _START, limit: int | None = _LIMIT,
                        impl: Agents = agents) -> Response:
    return JSONBody(await impl.list_sessions(agent_id, start_index, limit))


@router.get("/agents/{agent_id}/session/{session_id}", summary="Get a session (optionally only some turns)",
            responses=returns(Session))
async def get_session(agent_id: str, session_id: str,
                      turn_ids: list[str] | None = _TURN_IDS,
                      impl: Agents = agents) -> Response:
    return JSONBody(await impl.get_session(agent_id, session_id, turn_ids))


@router.delete("/agents/{agent_id}/session/{session_id}", summary="Delete a session and its turns",
               status_code=204)
async def delete_session(agent_id: str, session_id: str, impl: Agents = agents) -> Response:
    await impl.delete_session(agent_id, session_id)
    return Response(status_code=204)


@router.post(_TURN, summary="Create a turn (SSE of turn stream chunks when stream=true)", responses=returns(Turn))
async def create_turn(agent_id: str, session_id: str, body: CreateTurnRequest, impl: Agents = agents) -> Response:
    return await respond(await impl.create_turn(agent_id, session_id, body), done_marker=False)


@router.get(_TURN + "/{turn_id}", summary="Get a turn", responses=returns(Turn))
async def get_turn(agent_id: str, session_id: str, turn_id: str, impl: Agents = agents) -> Response:
    return JSONBody(await impl.get_turn(agent_id, session_id, turn_id))


@router.post(_TURN + "/{turn_id}/resume", summary="Resume a turn with the client's tool results",
             responses=returns(Turn))
async def resume_turn(agent_id: str, session_id: str, turn_id: str, body: ResumeTurnRequest,
                      impl: Agents = agents) -> Response:
    return await respond(await impl.resume_turn(agent_id, session_id, turn_id, body), done_marker=False)


@router.get(_TURN + "/{turn_id}/step/{step_id}", summary="Get a step of a turn", responses=returns(StepResponse))
async def get_step(agent_id: str, session_id: str, turn_id: str, step_id: str, impl: Agents = agents) -> Response:
    return JSONBody(await impl.get_step(agent_id, session_id, turn_id, step_id))
