"""/openapi.json agrees with the server: 400 in OpenAI's error body (not 422), SSE on streaming routes."""


async def test_openapi_lists_400_with_the_error_body_never_422(stack):
    schema = (await stack.http.get("/openapi.json")).json()
    operations = [op for item in schema["paths"].values() for op in item.values()]
    assert operations and all("422" not in op["responses"] for op in operations)
    chat = schema["paths"]["/v1/chat/completions"]["post"]["responses"]
    assert chat["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
    error = schema["components"]["schemas"]["ErrorResponse"]["properties"]["error"]
    assert set(error["required"]) == {"message", "type", "param", "code"}
    assert "HTTPValidationError" not in schema["components"]["schemas"]


async def test_streaming_routes_declare_server_sent_events(stack):
    paths = (await stack.http.get("/openapi.json")).json()["paths"]
    for path in ("/v1/chat/completions", "/v1/completions"):
        assert "text/event-stream" in paths[path]["post"]["responses"]["200"]["content"]
    assert "text/event-stream" not in paths["/v1/embeddings"]["post"]["responses"]["200"]["content"]


async def test_the_server_answers_400_where_the_document_says_so(stack):
    response = await stack.http.post("/v1/chat/completions", json={"model": "my-alias"})
    assert response.status_code == 400 and set(response.json()["error"]) == {"message", "type", "param", "code"}
