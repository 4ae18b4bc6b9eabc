"""Direct routes: a marked POST is served without FastAPI's routing, with the same answers and errors."""

import httpx
from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel, Field

from polystack.apis.errors import NotFoundError
from polystack.apis.http import JSONBody, direct, impl_of
from polystack.core.server.direct_routes import DirectRoutesMiddleware, direct_routes
from polystack.core.server.errors import install_error_handlers


class EchoRequest(BaseModel):
    text: str = Field(min_length=1)


class Echo:
    async def echo(self, request: EchoRequest) -> dict[str, str]:
        if request.text == "missing":
            raise NotFoundError("no such thing")
        return {"echo": request.text}


router = APIRouter()
echo_impl = Depends(impl_of("echo"))


@router.post("/echo")
@direct(EchoRequest, "echo")
async def echo(body: EchoRequest, impl: Echo = echo_impl) -> JSONBody:
    return JSONBody(await impl.echo(body))


def make_app() -> tuple[FastAPI, list[str]]:
    """The app with the direct routes, and the paths FastAPI itself was asked to serve."""
    app = FastAPI()
    app.state.impls = {"echo": Echo()}
    app.include_router(router, prefix="/v1")
    app.include_router(router, prefix="/v1/openai/v1", include_in_schema=False)
    install_error_handlers(app)
    reached_fastapi: list[str] = []

    class Recorder:  # between the direct routes and FastAPI's own routing
        def __init__(self, inner):
            self.inner = inner

        async def __call__(self, scope, receive, send):
            if scope["type"] == "http":
                reached_fastapi.append(scope["path"])
            await self.inner(scope, receive, send)

    app.add_middleware(Recorder)
    app.add_middleware(DirectRoutesMiddleware, routes=direct_routes(router.routes, ("/v1", "/v1/openai/v1")),
                       impls=app.state.impls, fastapi=app)
    return app, reached_fastapi


async def post(app: FastAPI, path: str, **kwargs) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return await client.post(path, **kwargs)


async def test_a_marked_route_is_served_directly_under_every_prefix():
    app, reached_fastapi = make_app()
    for path in ("/v1/echo", "/v1/openai/v1/echo"):
        response = await post(app, path, json={"text": "hi"})
        assert response.status_code == 200 and response.json() == {"echo": "hi"}
    assert reached_fastapi == []


async def test_invalid_bodies_and_errors_get_the_same_openai_error_bodies_as_through_fastapi():
    app, reached_fastapi = make_app()
    bad_field = await post(app, "/v1/echo", json={"text": ""})
    assert bad_field.status_code == 400 and bad_field.json()["error"]["param"] == "text"
    missing = await post(app, "/v1/echo", json={})
    assert missing.json()["error"]["message"] == "Missing required parameter: 'text'."
    not_json = await post(app, "/v1/echo", content=b"{nope", headers={"content-type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["error"]["message"] == "The request body is not valid JSON."
    not_found = await post(app, "/v1/echo", json={"text": "missing"})
    assert not_found.status_code == 404 and not_found.json()["error"]["message"] == "no such thing"
    assert reached_fastapi == []


async def test_what_the_fast_path_does_not_fit_goes_through_fastapi_with_its_body():
    app, reached_fastapi = make_app()
    empty = await post(app, "/v1/echo", content=b"", headers={"content-type": "application/json"})
    assert empty.status_code == 400 and empty.json()["error"]["message"] == "The request body is missing."
    untyped = await post(app, "/v1/echo", content=b'{"text": "hi"}', headers={"content-type": "text/plain"})
    assert untyped.status_code == 400  # FastAPI parses JSON only with a JSON content type
    app.dependency_overrides[impl_of] = lambda: None  # any override: FastAPI must solve dependencies
    overridden = await post(app, "/v1/echo", json={"text": "hi"})
    assert overridden.status_code == 200 and overridden.json() == {"echo": "hi"}
    assert reached_fastapi == ["/v1/echo"] * 3
