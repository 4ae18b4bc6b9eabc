"""Serves conversations: the stack's own ConversationStore over the SQL store of storage.stores.conversations."""

from __future__ import annotations

from polystack.apis.datatypes import Api
from polystack.core.conversations.store import ConversationStore
from polystack.core.errors import StackError
from polystack.core.serving import Providers, ServeContext


async def serve(context: ServeContext, providers: Providers) -> dict[str, object]:
    reference = context.config.storage.stores.conversations
    if reference is None:
        raise StackError("the conversations API keeps conversations in a SQL store: configure "
                         "storage.stores.conversations (e.g. {backend: sql_default, table_name: conversations})")
    store = ConversationStore(await context.storage.sql(reference), table=reference.table_name or "conversations")
    await store.migrate()
    return {Api.conversations: store}
