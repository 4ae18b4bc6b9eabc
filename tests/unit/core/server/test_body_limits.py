"""Body limits: 413 before a too-large body is read in full, 408 for a body slower than its deadline."""

import asyncio

import pytest

import polystack
from polystack.core.config import LimitsConfig, RunConfig
from polystack.core.errors import ConfigError
from polystack.core.server.app import files_upload_limit
from polystack.core.server.body_limits import BodyLimitMiddleware

from .conftest import scripted_config


@pytest.fixture
async def small_stack():
    config = scripted_config(limits={"max_body_bytes": 2048, "body_timeout_seconds": 0.3,
                                     "min_body_bytes_per_second": 1000})
    async with polystack.connect(config) as stack:
        yield stack


class Client:
    """Drives an ASGI app by hand: the body in chunks, with a pause between them; counts what was read."""

    def __init__(self, chunks, pause=0.0):
        self.chunks = list(chunks)
        self.pause = pause
        self.read = 0
        self.sent = []

    async def receive(self):
        if not self.chunks:
            await asyncio.sleep(3600)
        await asyncio.sleep(self.pause)
        chunk = self.chunks.pop(0)
        self.read += 1
        return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}

    async def send(self, message):
        self.sent.append(message)

    async def call(self, app, headers=(), path="/v1/chat/completions", method="POST"):
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
                 "headers": [*headers] or [(b"content-type", b"application/json")], "client": ("127.0.0.1", 1),
                 "server": ("127.0.0.1", 80), "state": {}}
        await asyncio.wait_for(app(scope, self.receive, self.send), 5)
        return self.sent[0]["status"], dict(self.sent[0]["headers"])


async def test_a_declared_length_over_the_limit_is_413_without_reading_the_body(small_stack):
    client = Client([b"x" * 4096])
    status, headers = await client.call(small_stack.app, headers=[(b"content-length", b"4096")])
    assert status == 413 and client.read == 0 and headers[b"connection"] == b"close"


async def test_a_streamed_body_is_refused_as_soon_as_it_passes_the_limit(small_stack):
    client = Client([b"x" * 1000] * 10)
    status, _ = await client.call(small_stack.app)
    assert status == 413 and client.read == 3


async def test_413_is_in_openai_error_shape(small_stack):
    response = await small_stack.http.post("/v1/chat/completions", content=b"[" + b"1," * 2000 + b"1]")
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "payload_too_large"
    assert "2048" in error["message"]


async def test_a_body_slower_than_its_deadline_is_408(small_stack):
    client = Client([b"{", b'"a"', b":1}"], pause=0.2)
    status, _ = await client.call(small_stack.app)
    assert status == 408 and client.read == 1


async def test_bodies_within_the_limits_pass(small_stack):
    client = Client([b'{"model": "my-alias", ', b'"messages": [{"role": "user", "content": "hi"}]}'], pause=0.05)
    status, _ = await client.call(small_stack.app)
    assert status == 200


async def test_uploads_to_the_files_api_get_the_files_providers_limit():
    config = RunConfig.model_validate({"distro_name": "x", "providers": {"files": [
        {"provider_id": "f", "provider_type": "inline::localfs", "config": {"max_upload_bytes": 10_000_000}}]}})
    assert files_upload_limit(config) == 10_000_000
    middleware = BodyLimitMiddleware(None, limits=LimitsConfig(max_body_bytes=2048), upload_bytes=10_000_000)
    form = {"type": "http", "method": "POST", "path": "/v1/files",
            "headers": [(b"content-type", b"multipart/form-data; boundary=x")]}
    assert middleware.rules_for(form).max_bytes > 10_000_000 and middleware.rules_for(form).param == "file"
    assert middleware.rules_for({**form, "path": "/v1/chat/completions"}).max_bytes == 2048
    assert middleware.rules_for({**form, "headers": []}).max_bytes == 2048


async def test_a_body_the_route_reads_itself_is_stopped_at_the_limit_too(small_stack):
    client = Client([b"x" * 1000] * 10)
    status, headers = await client.call(small_stack.app, headers=[(b"content-type", b"text/plain")])
    assert status == 413 and client.read == 3 and headers[b"connection"] == b"close"
    body = b"".join(m.get("body", b"") for m in client.sent[1:])
    assert b'"code":"payload_too_large"' in body


async def test_a_body_trickling_below_the_minimum_rate_is_cut_after_the_grace_period(small_stack):
    client = Client([b" " * 10] * 100, pause=0.1)
    status, _ = await client.call(small_stack.app)
    assert status == 408 and client.read < 8


async def test_a_body_arriving_at_a_good_rate_may_take_longer_than_the_grace_period(small_stack):
    body = b'{"model": "my-alias", "messages": [{"role": "user", "content": "hi"}]}'.ljust(1800)
    client = Client([body[i:i + 200] for i in range(0, 1800, 200)], pause=0.1)
    status, _ = await client.call(small_stack.app)
    assert status == 200 and client.read == 9


# ---- limits per route family (server.limits.body_limits) ----------------------------------------------------

def test_the_longest_prefix_matching_whole_segments_gives_a_path_its_limit():
    limits = LimitsConfig(max_body_bytes="16MiB", body_limits={
        "/v1/chat/completions": "4MiB", "/v1": 8 * 1024 * 1024, "/v1/files/": "1GiB", "/v1/embeddings": "64KiB"})
    table = BodyLimitMiddleware(None, limits=limits).table
    assert limits.max_body_bytes == 16 * 1024 * 1024 and limits.body_limits["/v1/files"] == 1024 ** 3
    assert table.limit_for("/v1/chat/completions") == 4 * 1024 * 1024
    assert table.limit_for("/v1/chat/completions/abc/messages") == 4 * 1024 * 1024
    assert table.limit_for("/v1/chat/completionsX") == 8 * 1024 * 1024  # not the same segment: /v1's
    assert table.limit_for("/v1/openai/v1/embeddings") == 64 * 1024  # the OpenAI mount shares the family
    assert table.limit_for("/v1/files") == 1024 ** 3
    assert table.limit_for("/health") == 16 * 1024 * 1024  # no prefix: max_body_bytes
    assert table.match("/v1/embeddings") == (64 * 1024, "/v1/embeddings")


def test_the_limit_cache_stays_bounded_whatever_paths_arrive():
    table = BodyLimitMiddleware(None, limits=LimitsConfig(body_limits={"/v1/files": "1MiB"})).table
    for i in range(10_000):
        assert table.limit_for(f"/v1/files/file-{i}") == 1024 * 1024
    assert len(table._cache) <= 4096


@pytest.mark.parametrize("rules", [{"v1/chat": 4096}, {"/v1/chat": 10}, {"/v1/chat": "lots"}, {"/v1/x?y": 4096}])
def test_body_limits_that_are_not_a_path_and_a_size_are_config_errors(rules):
    with pytest.raises(ConfigError, match="server.limits.body_limits"):
        scripted_config(limits={"body_limits": rules})


async def test_a_family_s_own_limit_is_413_naming_it_while_other_routes_keep_the_default():
    config = scripted_config(limits={"body_limits": {"/v1/embeddings": "2KiB"}})
    body = {"model": "my-alias", "messages": [{"role": "user", "content": "x" * 4000}]}
    async with polystack.connect(config) as stack:
        for path in ("/v1/embeddings", "/v1/openai/v1/embeddings"):
            client = Client([b"x" * 4096])
            status, _ = await client.call(stack.app, headers=[(b"content-length", b"4096")], path=path)
            assert status == 413 and client.read == 0
        refused = await stack.http.post("/v1/embeddings", json={"model": "scripted/scripted-embedding",
                                                                "input": "x" * 4000})
        assert refused.status_code == 413
        error = refused.json()["error"]
        assert error["code"] == "payload_too_large" and "2048 bytes for /v1/embeddings" in error["message"]
        assert (await stack.http.post("/v1/chat/completions", json=body)).status_code == 200


async def test_a_files_rule_overrides_the_files_provider_s_upload_limit():
    limits = LimitsConfig(max_body_bytes=2048, body_limits={"/v1/files": "1MiB"})
    middleware = BodyLimitMiddleware(None, limits=limits, upload_bytes=10_000_000)
    form = {"type": "http", "method": "POST", "path": "/v1/files",
            "headers": [(b"content-type", b"multipart/form-data; boundary=x")]}
    rules = middleware.rules_for(form)
    assert rules.max_bytes == 1024 * 1024 and rules.param == "file" and rules.prefix == "/v1/files"
    assert middleware.rules_for({**form, "path": "/v1/chat/completions"}).max_bytes == 2048
