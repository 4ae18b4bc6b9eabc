"""MCP approvals: pairing each `mcp_approval_response` of a request's input with the `mcp_approval_request` it
answers (in the previous responses' chain, the conversation, or the input itself when store is false)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from polystack.apis.errors import InvalidRequestError
from polystack.apis.responses.items import Item, McpApprovalRequest, McpApprovalResponse, McpCall, McpListTools
from polystack.apis.responses.types import McpServerTool, RequestTool
from polystack.core.responses.chain import MAX_CHAIN, EarlierItems

LISTING_LOOKBACK = 8  # earlier responses searched for a tool listing to reuse


@dataclass(frozen=True)
class Approval:
    """The client's answer to one approval request."""

    request: McpApprovalRequest
    approve: bool
    reason: str | None


async def _blocks(input_items: tuple[Item, ...], earlier: EarlierItems, limit: int = MAX_CHAIN
                  ) -> AsyncIterator[list[Item]]:
    """The input's items, then each earlier response's (at most `limit`): newest first."""
    yield list(input_items)
    async for block in earlier.newest_first(limit):
        yield block


async def approvals(input_items: tuple[Item, ...], earlier: EarlierItems) -> list[Approval]:
    """Every approval response of the input with its request; an unknown or already answered request is a 400.

    The chain is read back only until every answered request is found (a call that ran it is newer than it)."""
    answers = [item for item in input_items if isinstance(item, McpApprovalResponse)]
    if not answers:
        return []
    wanted = {answer.approval_request_id for answer in answers}
    requests: dict[str, McpApprovalRequest] = {}
    done: set[str] = set()
    async for block in _blocks(input_items, earlier):
        for item in block:
            if isinstance(item, McpApprovalRequest) and item.id in wanted:
                requests[item.id] = item
            elif isinstance(item, McpCall) and item.approval_request_id:
                done.add(item.approval_request_id)
        if wanted <= requests.keys():
            break
    found: list[Approval] = []
    for answer in answers:
        request = requests.get(answer.approval_request_id)
        if request is None:
            raise InvalidRequestError(f"No mcp_approval_request with id '{answer.approval_request_id}' in this "
                                      "response chain or input", param="input")
        if answer.approval_request_id in done or any(a.request.id == request.id for a in found):
            raise InvalidRequestError(f"The mcp_approval_request '{answer.approval_request_id}' was already "
                                      "answered", param="input")
        found.append(Approval(request, answer.approve, answer.reason))
    return found


def check_answered_server(request_tools: list[RequestTool], input_items: Iterable[object]) -> None:
    """An mcp_approval_response needs an mcp tool in the request (the call runs with its server and credentials)."""
    if any(isinstance(item, McpApprovalResponse) for item in input_items) and not any(
            isinstance(tool, McpServerTool) for tool in request_tools):
        raise InvalidRequestError("an mcp_approval_response needs, in 'tools', the mcp tool of the call it approves",
                                  param="tools")


async def listing(input_items: tuple[Item, ...], earlier: EarlierItems, server_label: str) -> McpListTools | None:
    """The latest successful tool listing of `server_label` in the input or the last LISTING_LOOKBACK responses of
    the chain (reused, not listed again; an older one is listed again, which bounds what a response reads)."""
    async for block in _blocks(input_items, earlier, LISTING_LOOKBACK):
        for item in reversed(block):
            if isinstance(item, McpListTools) and item.server_label == server_label and not item.error:
                return item
    return None
