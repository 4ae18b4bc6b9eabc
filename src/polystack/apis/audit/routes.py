"""HTTP routes of the audit log."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from polystack.apis.audit.protocol import Audit
from polystack.apis.audit.types import AuditList
from polystack.apis.documented import returns
from polystack.apis.http import JSONBody, impl_of

router = APIRouter(tags=["audit"])
audit = Depends(impl_of("audit"))


@router.get("/audit", summary="Audit log entries, oldest first", responses=returns(AuditList))
async def list_audit(principal: str | None = None, action: str | None = None, resource_type: str | None = None,
                     since: float | None = Query(default=None, description="Unix seconds: entries from then on."),
                     after: str | None = Query(default=None, description="Cursor: the last id of the previous page."),
                     limit: int = Query(default=100, ge=1, le=1000),
                     impl: Audit = audit) -> Response:
    return JSONBody(await impl.list_audit(principal=principal, action=action, resource_type=resource_type,
                                          since=since, after=after, limit=limit))
