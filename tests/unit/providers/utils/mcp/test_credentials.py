"""Credentials: the bearer shorthand, the session key that hashes them, and what may be shown of an endpoint."""

from __future__ import annotations

from polystack.providers.utils.mcp import with_authorization
from polystack.providers.utils.mcp.credentials import endpoint_host, masked, session_key


def test_authorization_becomes_a_bearer_header_replacing_any_other():
    assert with_authorization({"authorization": "Bearer old", "X-A": "1"}, "tok-123") == {
        "X-A": "1", "Authorization": "Bearer tok-123"}
    assert with_authorization(None, "Basic dXNlcjpwdw==") == {"Authorization": "Basic dXNlcjpwdw=="}
    assert with_authorization({"Authorization": "Bearer kept"}, None) == {"Authorization": "Bearer kept"}


def test_the_session_key_ignores_header_order_and_name_case_but_not_values():
    key = session_key("http://h/mcp", {"A": "1", "B": "2"})

    assert key == session_key("http://h/mcp", {"b": "2", "a": "1"})
    assert key != session_key("http://h/mcp", {"A": "1", "B": "3"})
    assert key != session_key("http://other/mcp", {"A": "1", "B": "2"})
    assert len(key) == 64  # a sha256 digest: no header value in it


def test_endpoint_host_shows_host_and_port_only():
    assert endpoint_host("https://user:pw@mcp.example.com:8443/v1/mcp?key=abc") == "mcp.example.com:8443"
    assert endpoint_host("http://mcp.example.com/sse") == "mcp.example.com"


def test_masked_hides_every_header_value():
    text = masked("server said: token tok-secret-99 is bad (Bearer tok-secret-99)",
                  {"Authorization": "Bearer tok-secret-99"})

    assert "tok-secret-99" not in text and "server said" in text
