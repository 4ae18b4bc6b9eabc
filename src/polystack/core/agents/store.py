"""AgentStore: agents, their sessions and their turns as owned rows of the SQL store (another caller's are 404s).

Tables: `<table>` (agents), `<table>_sessions` and `<table>_turns`, all owned, so the access policy applies
to each row. A session row names the conversation its turns run in; a turn row keeps the Llama Stack Turn
and, while it waits for the client's tool results, the calls it waits for (`pending`).
"""

from __future__ import annotations

import time
from typing import Any

from polystack.apis.errors import NotFoundError
from polystack.core.storage.sql.api import Column, ColumnType, Query, SQLStore, TableSchema

_S = ColumnType.STRING


def _schemas(table: str) -> tuple[TableSchema, TableSchema, TableSchema]:
    agents = TableSchema(table, {
        "id": Column(_S, primary_key=True, nullable=False),
        "created_at": Column(ColumnType.INTEGER, nullable=False, index=True),
        "created": Column(_S, nullable=False),
        "config": Column(ColumnType.JSON, nullable=False),
    }, owned=True, resource_type="agent")
    sessions = TableSchema(f"{table}_sessions", {
        "id": Column(_S, primary_key=True, nullable=False),
        "agent_id": Column(_S, nullable=False, index=True),
        "name": Column(ColumnType.TEXT, nullable=False),
        "conversation_id": Column(_S, nullable=False),
        "position": Column(ColumnType.INTEGER, nullable=False, index=True),
        "started_at": Column(_S, nullable=False),
    }, owned=True, resource_type="agent_session")
    turns = TableSchema(f"{table}_turns", {
        "id": Column(_S, primary_key=True, nullable=False),
        "session_id": Column(_S, nullable=False, index=True),
        "agent_id": Column(_S, nullable=False, index=True),
        "position": Column(ColumnType.INTEGER, nullable=False, index=True),
        "status": Column(_S, nullable=False),  # completed | awaiting_input
        "turn": Column(ColumnType.JSON, nullable=False),
        "pending": Column(ColumnType.JSON),
    }, owned=True, resource_type="agent_turn")
    return agents, sessions, turns


class AgentStore:
    """Rows of agents, sessions and turns; every read is the caller's (the SQL store applies the policy)."""

    def __init__(self, sql: SQLStore, table: str = "agents") -> None:
        self.sql = sql
        self.schemas = _schemas(table)
        self.agents, self.sessions, self.turns = (schema.name for schema in self.schemas)

    async def migrate(self) -> None:
        async def create_tables(store: SQLStore) -> None:
            for schema in self.schemas:
                await store.create_table(schema)

        await self.sql.migrate(f"agents:{self.agents}", [create_tables])
        for schema in self.schemas:
            await self.sql.create_table(schema)

    # ---- agents ---------------------------------------------------------------------------------

    async def add_agent(self, agent_id: str, created: str, config: dict[str, Any]) -> None:
        await self.sql.insert(self.agents, {"id": agent_id, "created_at": time.time_ns(), "created": created,
                                            "config": config})

    async def agent(self, agent_id: str) -> dict[str, Any]:
        row = await self.sql.fetch_one(self.agents, {"id": agent_id})
        if row is None:
            raise NotFoundError(f"Agent '{agent_id}' not found", param="agent_id")
        return row

    async def list_agents(self) -> list[dict[str, Any]]:
        return (await self.sql.fetch_all(self.agents, Query(order_by=[("created_at", "asc")]))).data

    async def delete_agent(self, agent_id: str) -> list[dict[str, Any]]:
        """Deletes the agent, its sessions and turns; returns the sessions (their conversations go too)."""
        await self.agent(agent_id)
        await self.sql.authorize(self.agents, {"id": agent_id}, "delete")
        sessions = await self.list_sessions(agent_id)
        await self.sql.delete(self.turns, {"agent_id": agent_id})
        await self.sql.delete(self.sessions, {"agent_id": agent_id})
        await self.sql.delete(self.agents, {"id": agent_id})
        return sessions

    # ---- sessions -------------------------------------------------------------------------------

    async def add_session(self, session_id: str, agent_id: str, name: str, conversation_id: str,
                          started_at: str) -> None:
        await self.sql.insert(self.sessions, {"id": session_id, "agent_id": agent_id, "name": name,
                                              "conversation_id": conversation_id, "position": time.time_ns(),
                                              "started_at": started_at})

    async def session(self, agent_id: str, session_id: str) -> dict[str, Any]:
        await self.agent(agent_id)
        row = await self.sql.fetch_one(self.sessions, {"id": session_id, "agent_id": agent_id})
        if row is None:
            raise NotFoundError(f"Session '{session_id}' not found in agent '{agent_id}'", param="session_id")
        return row

    async def list_sessions(self, agent_id: str) -> list[dict[str, Any]]:
        return (await self.sql.fetch_all(self.sessions, Query(
            where={"agent_id": agent_id}, order_by=[("position", "asc")]))).data

    async def delete_session(self, agent_id: str, session_id: str) -> dict[str, Any]:
        row = await self.session(agent_id, session_id)
        await self.sql.authorize(self.sessions, {"id": session_id}, "delete")
        await self.sql.delete(self.turns, {"session_id": session_id})
        await self.sql.delete(self.sessions, {"id": session_id})
        return row

    # ---- turns ----------------------------------------------------------------------------------

    async def save_turn(self, agent_id: str, turn: dict[str, Any], status: str,
                        pending: dict[str, Any] | None) -> None:
        values = {"status": status, "turn": turn, "pending": pending}
        if await self.sql.fetch_one(self.turns, {"id": turn["turn_id"]}) is None:
            await self.sql.insert(self.turns, {"id": turn["turn_id"], "session_id": turn["session_id"],
                                               "agent_id": agent_id, "position": time.time_ns(), **values})
        else:
            await self.sql.update(self.turns, values, {"id": turn["turn_id"]})

    async def claim(self, turn_id: str, status: str, claimed: str) -> bool:
        """Move a turn from `status` to `claimed` if it still is in `status`: one resume wins, across replicas."""
        return await self.sql.update(self.turns, {"status": claimed}, {"id": turn_id, "status": status}) == 1

    async def turn(self, agent_id: str, session_id: str, turn_id: str) -> dict[str, Any]:
        await self.session(agent_id, session_id)
        row = await self.sql.fetch_one(self.turns, {"id": turn_id, "session_id": session_id})
        if row is None:
            raise NotFoundError(f"Turn '{turn_id}' not found in session '{session_id}'", param="turn_id")
        return row

    async def turns_of(self, session_id: str) -> list[dict[str, Any]]:
        return (await self.sql.fetch_all(self.turns, Query(
            where={"session_id": session_id}, order_by=[("position", "asc")]))).data
