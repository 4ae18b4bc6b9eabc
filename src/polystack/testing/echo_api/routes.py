"""HTTP routes of the echo API."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from polystack.apis.documented import returns
from polystack.apis.http import JSONBody, impl_of
from polystack.testing.echo_api.protocol import Echo, EchoReply, EchoRequest

router = APIRouter(tags=["echo"])
echo = Depends(impl_of("echo"))


@router.post("/echo", summary="Echo a text", responses=returns(EchoReply))
async def post_echo(request: EchoRequest, impl: Echo = echo) -> Response:
    return JSONBody(await impl.echo(request))
