"""Serves agents: AgentsService over the Responses engine, its rows in storage.stores.agents (or, without it, in
the responses store's backend, tables `agents*`)."""

from __future__ import annotations

from polystack.apis.datatypes import Api
from polystack.core.agents.service import AgentsService
from polystack.core.agents.store import AgentStore
from polystack.core.errors import StackError
from polystack.core.responses.service import ResponsesService
from polystack.core.serving import Providers, ServeContext


async def serve(context: ServeContext, providers: Providers) -> dict[str, object]:
    responses = context.impls.get(Api.responses)
    if not isinstance(responses, ResponsesService):
        raise StackError("the agents API runs its turns on the Responses engine: list `responses` in apis")
    stores = context.config.storage.stores
    reference = stores.agents or stores.responses
    if reference is None:
        raise StackError("the agents API keeps agents, sessions and turns in a SQL store: configure "
                         "storage.stores.agents (e.g. {backend: sql_default, table_name: agents})")
    table = (stores.agents.table_name if stores.agents is not None else None) or "agents"
    store = AgentStore(await context.storage.sql(reference), table=table)
    await store.migrate()
    return {Api.agents: AgentsService(store, responses.engine, context.impls)}
