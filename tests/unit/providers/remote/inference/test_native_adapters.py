"""What NativeAPIAdapter does alike for every native adapter, checked on each against its fake backend.

Each adapter's own translation (request bodies, responses, stream events) is tested in its own module.
"""

from __future__ import annotations

from typing import Any

import pytest
from native_backend import CassetteBackend
from native_harness import ANTHROPIC, GEMINI, NativeAdapterCase, caller_provider_data, chat, collect

from polystack.apis.errors import ProviderError, QuotaExceededError

EACH_ADAPTER = [pytest.param(ANTHROPIC, id="anthropic"), pytest.param(GEMINI, id="gemini")]


@pytest.mark.parametrize("case", EACH_ADAPTER)
async def test_provider_data_key_overrides_the_configured_key(case: NativeAdapterCase[Any]) -> None:
    backend, adapter, request = case.replay("chat_plain")
    keys_for_other_providers = {"anthropic_api_key": "not-mine", "gemini_api_key": "not-mine", "other_key": "x"}
    with caller_provider_data({**keys_for_other_providers, adapter.key_field: "caller-key"}):
        await adapter.chat_completion(chat(request))
    assert backend.requests[0].headers[case.key_header] == "caller-key"


@pytest.mark.parametrize(("case", "cassette"), [
    pytest.param(ANTHROPIC, "error_401", id="anthropic-401"),
    pytest.param(GEMINI, "error_400_api_key", id="gemini-400-api-key-invalid"),
])
async def test_a_rejected_key_names_the_provider_without_echoing_the_upstream_message_or_key(
        case: NativeAdapterCase[Any], cassette: str) -> None:
    backend, adapter, request = case.replay(cassette)
    with pytest.raises(ProviderError) as info:
        await adapter.chat_completion(chat(request))
    message = info.value.message
    assert f"Provider '{case.provider_id}'" in message and "authentication" in message
    assert "LEAKED" not in message and case.key not in message


@pytest.mark.parametrize(("case", "upstream_message"), [
    pytest.param(ANTHROPIC, "rate limit", id="anthropic"),
    pytest.param(GEMINI, "exhausted", id="gemini"),
])
async def test_429_is_quota_exceeded(case: NativeAdapterCase[Any], upstream_message: str) -> None:
    backend, adapter, request = case.replay("error_429")
    with pytest.raises(QuotaExceededError, match=upstream_message):
        await adapter.chat_completion(chat(request))


@pytest.mark.parametrize(("case", "cassette", "stream"), [
    pytest.param(ANTHROPIC, "error_500", False, id="anthropic-500"),
    pytest.param(ANTHROPIC, "error_529", False, id="anthropic-529"),
    pytest.param(ANTHROPIC, "error_500", True, id="anthropic-500-stream"),
    pytest.param(GEMINI, "error_500", True, id="gemini-500-stream"),
])
async def test_5xx_is_a_provider_error_raised_before_any_streaming(
        case: NativeAdapterCase[Any], cassette: str, stream: bool) -> None:
    backend, adapter, request = case.replay(cassette)
    with pytest.raises(ProviderError) as info:
        await adapter.chat_completion(chat(request, stream=stream))
    status = backend.interactions[0]["response"]["status"]
    assert info.value.status_code == 502
    assert f"Provider '{case.provider_id}'" in info.value.message and f"HTTP {status}" in info.value.message


@pytest.mark.parametrize(("case", "finish_line"), [
    pytest.param(ANTHROPIC, "event: message_delta", id="anthropic"),
    pytest.param(GEMINI, '"finishReason"', id="gemini"),
])
async def test_a_stream_cut_before_its_finish_reason_raises_instead_of_ending_quietly(
        case: NativeAdapterCase[Any], finish_line: str) -> None:
    cassette = case.cassette("stream_text")
    response = cassette["interactions"][0]["response"]
    lines = response["sse_lines"]
    response["sse_lines"] = lines[:next(index for index, line in enumerate(lines) if finish_line in line)]
    stream = await case.adapter(CassetteBackend(cassette).client()).chat_completion(chat(cassette["openai_request"]))
    with pytest.raises(ProviderError, match="ended before"):
        await collect(stream)
