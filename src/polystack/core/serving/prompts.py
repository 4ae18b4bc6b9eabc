"""Serves prompts: versioned prompts in the SQL store `storage.stores.prompts`, with those the run config declares."""

from __future__ import annotations

from polystack.apis.datatypes import Api
from polystack.core.errors import StackError
from polystack.core.prompts.store import DEFAULT_TABLE, SQLPrompts
from polystack.core.request_context import as_system
from polystack.core.serving import Providers, ServeContext


async def serve(context: ServeContext, providers: Providers) -> dict[str, object]:
    reference = context.config.storage.stores.prompts
    if reference is None:
        raise StackError("the prompts API keeps its prompts in a SQL store: configure storage.stores.prompts "
                         "(for example {backend: sql_default, table_name: prompts})")
    prompts = SQLPrompts(await context.storage.sql(reference), reference.table_name or DEFAULT_TABLE)
    await prompts.migrate()
    with as_system():  # what the config declares belongs to nobody: readable by all, changed by none
        await prompts.register(context.config.registered_resources.prompts)
    return {Api.prompts: prompts}
