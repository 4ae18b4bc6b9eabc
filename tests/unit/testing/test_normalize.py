"""Tests for the request key: what changes it and what does not."""

from __future__ import annotations

import httpx

from polystack.testing.normalize import normalize_request, round_floats


def key_of(request: httpx.Request, test_id: str | None = None) -> str:
    return normalize_request(request, request.read(), test_id).key


def test_round_floats_rounds_nested_floats_and_leaves_other_values() -> None:
    value = {"a": [0.1234567, {"b": -0.0000001}], "c": 3, "d": True, "e": "0.1234567"}
    assert round_floats(value) == {"a": [0.12346, {"b": 0.0}], "c": 3, "d": True, "e": "0.1234567"}


def test_json_body_key_ignores_whitespace_and_key_order() -> None:
    one = httpx.Request("POST", "http://h/v1/x", content=b'{"a": 1, "b": [1.0, 2]}')
    two = httpx.Request("POST", "http://other:9/v1/x", content=b'{"b":[1.0,2],"a":1}')
    assert key_of(one) == key_of(two)


def test_non_json_body_is_keyed_by_its_bytes() -> None:
    one = httpx.Request("POST", "http://h/v1/audio", content=b"\x00\x01binary")
    two = httpx.Request("POST", "http://h/v1/audio", content=b"\x00\x02binary")
    data = normalize_request(one, one.read()).data
    assert "body_sha256" in data and "body" not in data
    assert key_of(one) != key_of(two)


def test_method_and_test_id_are_part_of_the_key() -> None:
    get = httpx.Request("GET", "http://h/v1/models")
    delete = httpx.Request("DELETE", "http://h/v1/models")
    assert key_of(get) != key_of(delete)
    assert key_of(get) != key_of(get, test_id="t1")
    assert "test_id" not in normalize_request(get, b"").data


def test_secret_query_params_and_body_fields_are_redacted_and_collected() -> None:
    request = httpx.Request("POST", "http://h/v1/x?key=abcdefgh123&alt=sse",
                            json={"password": "hunter2hunter2", "key": "region"},
                            headers={"x-goog-api-key": "goog-key-value"})
    normalized = normalize_request(request, request.read())
    assert normalized.data["query"] == {"alt": "sse", "key": "<redacted>"}
    assert normalized.data["body"] == {"password": "<redacted>", "key": "region"}  # "key" in JSON is data
    assert {"abcdefgh123", "hunter2hunter2", "goog-key-value"} <= normalized.secrets


def test_form_bodies_are_parsed_with_secrets_redacted() -> None:
    form = {"grant_type": "x", "client_secret": "s3cr3t-value"}
    request = httpx.Request("POST", "http://h/token", data=form)
    data = normalize_request(request, request.read()).data
    assert data["form"] == {"client_secret": "<redacted>", "grant_type": "x"}
