"""`item_reference` input items: an earlier item named by id, replaced by that item before anything reads it.

A reference is looked up in the items the request builds on: the `previous_response_id` chain (each earlier
response's input and output, newest first) and the `conversation`'s items. An id found in neither is a 400
naming `input[i].id`.
"""

from __future__ import annotations

from polystack.apis.errors import InvalidRequestError
from polystack.apis.responses.items import InputItem, Item, ItemReference
from polystack.core.responses.chain import EarlierItems


async def resolve_references(items: list[InputItem], earlier: EarlierItems) -> list[InputItem]:
    """`items` with each item_reference replaced by the item it names (the chain is read only if one is there)."""
    wanted = {item.id for item in items if isinstance(item, ItemReference)}
    if not wanted:
        return items
    found: dict[str, Item] = {}
    async for block in earlier.newest_first():
        for candidate in block:
            item_id = getattr(candidate, "id", None)
            if item_id in wanted and item_id not in found:
                found[item_id] = candidate
        if len(found) == len(wanted):
            break
    resolved: list[InputItem] = []
    for index, item in enumerate(items):
        if not isinstance(item, ItemReference):
            resolved.append(item)
            continue
        target = found.get(item.id)
        if target is None:
            raise InvalidRequestError(
                f"No item with id '{item.id}' found in the previous responses or the conversation of this request",
                param=f"input[{index}].id")
        resolved.append(target)
    return resolved
