"""Tests of the shared local-embeddings pieces, driven by a small deterministic fake encoder."""

from __future__ import annotations

import base64
import struct
import threading
import warnings
from collections.abc import Sequence

import numpy as np
import pytest

from polystack.apis.errors import (
    InvalidRequestError,
    ModelNotFoundError,
    ProviderError,
    ServiceUnavailableError,
    UnsupportedParameterError,
)
from polystack.apis.inference.types import ChatCompletionRequest, CompletionRequest, EmbeddingsRequest
from polystack.apis.models.types import ModelType
from polystack.providers.utils.embeddings import (
    EmbeddingsAdapter,
    Encoded,
    batches,
    check_token_ids,
    decode_base64,
    embeddings_response,
    encode_base64,
    l2_normalise,
    output_dimensions,
    shortened,
    token_id_inputs,
)

DIM = 8


class FakeEncoder:
    """Vectors derived from the text's bytes; one 'token' per word plus two special tokens."""

    dimension = DIM
    max_tokens = 16
    vocab_size = 100

    def __init__(self, *, supports_token_ids: bool = True, fail: bool = False) -> None:
        self.supports_token_ids = supports_token_ids
        self.fail = fail
        self.batches: list[list[str]] = []
        self.threads: list[str] = []

    def encode_texts(self, texts: Sequence[str]) -> Encoded:
        self.threads.append(threading.current_thread().name)
        if self.fail:
            raise RuntimeError("kaboom")
        self.batches.append(list(texts))
        rows = [np.frombuffer((t.encode() + b"\x01" * DIM)[:DIM], dtype=np.uint8) for t in texts]
        return Encoded(l2_normalise(np.array(rows, dtype=np.float32)), [len(t.split()) + 2 for t in texts])

    def encode_ids(self, inputs: Sequence[Sequence[int]]) -> Encoded:
        return self.encode_texts([" ".join(str(i) for i in ids) for ids in inputs])


def make_adapter(encoder: FakeEncoder | None = None, *, batch_size: int = 2) -> EmbeddingsAdapter:
    return EmbeddingsAdapter(encoder or FakeEncoder(), model="fake-embed", provider_id="fake",
                             batch_size=batch_size)


def request(input_: object, **fields: object) -> EmbeddingsRequest:
    return EmbeddingsRequest(model="fake-embed", input=input_, **fields)  # type: ignore[arg-type]


# ---- dimensions -----------------------------------------------------------------------------------


def test_dimensions_default_and_equal_to_native_are_the_native_size() -> None:
    assert output_dimensions(None, 384, allow_truncation=False, provider_id="p") == 384
    assert output_dimensions(384, 384, allow_truncation=False, provider_id="p") == 384


def test_dimensions_above_native_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        output_dimensions(385, 384, allow_truncation=True, provider_id="p")
    assert type(caught.value) is InvalidRequestError
    assert caught.value.param == "dimensions" and "384" in caught.value.message


def test_dimensions_below_native_is_unsupported_unless_truncation_is_allowed() -> None:
    with pytest.raises(UnsupportedParameterError, match="provider 'p' cannot shorten"):
        output_dimensions(128, 384, allow_truncation=False, provider_id="p")
    assert output_dimensions(128, 384, allow_truncation=True, provider_id="p") == 128


def test_shortened_vectors_are_the_renormalised_prefix() -> None:
    vectors = l2_normalise(np.arange(1, 17, dtype=np.float32).reshape(2, 8))
    cut = shortened(vectors, 3)
    assert cut.shape == (2, 3)
    np.testing.assert_allclose(np.linalg.norm(cut, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(cut[0], np.array([1, 2, 3]) / np.linalg.norm([1, 2, 3]), atol=1e-6)
    assert shortened(vectors, 8) is vectors


def test_l2_normalise_keeps_a_zero_row_zero() -> None:
    out = l2_normalise(np.array([[0.0, 0.0], [3.0, 4.0]]))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0, 0], [0.6, 0.8]], atol=1e-7)


# ---- encodings and the response -------------------------------------------------------------------


def test_base64_is_little_endian_float32_like_openai() -> None:
    values = [1.0, -2.0, 0.5]
    assert encode_base64(np.array(values)) == base64.b64encode(struct.pack("<3f", *values)).decode()
    np.testing.assert_array_equal(decode_base64(encode_base64(np.array(values))), values)


def test_base64_response_serialises_strings_without_pydantic_warnings() -> None:
    vectors = l2_normalise(np.ones((2, 4), dtype=np.float32))
    response = embeddings_response(vectors, model="m", prompt_tokens=7, dimensions=4,
                                   encoding_format="base64")
    assert all(isinstance(item.embedding, str) for item in response.data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        body = response.model_dump(mode="json", exclude_none=True)
    assert [item["index"] for item in body["data"]] == [0, 1]
    np.testing.assert_allclose(decode_base64(body["data"][1]["embedding"]), vectors[1])
    assert body["usage"] == {"prompt_tokens": 7, "total_tokens": 7}


def test_float_response_holds_plain_floats_cut_to_dimensions() -> None:
    vectors = l2_normalise(np.ones((1, 4), dtype=np.float32))
    response = embeddings_response(vectors, model="m", prompt_tokens=1, dimensions=2, encoding_format=None)
    assert response.object == "list" and response.model == "m"
    assert response.data[0].embedding == pytest.approx([2**-0.5, 2**-0.5])


# ---- inputs and batches ------------------------------------------------------------------------------


def test_a_flat_list_of_ints_is_one_token_id_input() -> None:
    assert token_id_inputs(request([1, 2, 3])) == [[1, 2, 3]]
    assert token_id_inputs(request([[1, 2], [3]])) == [[1, 2], [3]]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [([[1, 2], []], r"input\[1\] is an empty list"), ([list(range(17))], "at most 16"),
     ([[5, 100]], "outside this model's vocabulary"), ([[-1]], "outside")],
)
def test_token_ids_the_model_cannot_take_are_invalid_requests(inputs: list[list[int]], message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        check_token_ids(inputs, vocab_size=100, max_tokens=16)


def test_batches_cover_every_index_once_longest_first() -> None:
    items = ["a", "ccc", "bb", "dddd", ""]
    groups = list(batches(items, 2))
    assert [len(group) for group in groups] == [2, 2, 1]
    assert [items[i] for group in groups for i in group] == ["dddd", "ccc", "bb", "a", ""]


# ---- the adapter ----------------------------------------------------------------------------------


async def test_vectors_come_back_in_input_order_whatever_the_batching() -> None:
    encoder = FakeEncoder()
    texts = ["bb", "a", "dddd dd", "ccc"]
    response = await make_adapter(encoder, batch_size=3).embeddings(request(texts))
    assert [item.index for item in response.data] == [0, 1, 2, 3]
    for text, item in zip(texts, response.data, strict=True):
        np.testing.assert_allclose(item.embedding, encoder.encode_texts([text]).vectors[0], atol=1e-7)
    assert response.usage.prompt_tokens == response.usage.total_tokens == 3 + 3 + 4 + 3


async def test_batches_run_in_worker_threads_never_on_the_event_loop() -> None:
    encoder = FakeEncoder()
    await make_adapter(encoder, batch_size=2).embeddings(request(["a", "b", "c", "d", "e"]))
    assert [len(batch) for batch in encoder.batches] == [2, 2, 1]
    assert all(name.startswith("fake-embeddings") for name in encoder.threads)
    assert threading.current_thread().name not in encoder.threads


async def test_token_ids_reach_the_encoder_when_it_supports_them() -> None:
    encoder = FakeEncoder()
    response = await make_adapter(encoder).embeddings(request([3, 4]))
    assert encoder.batches == [["3 4"]] and len(response.data) == 1


async def test_token_ids_are_unsupported_when_the_encoder_takes_text_only() -> None:
    with pytest.raises(UnsupportedParameterError, match="provider 'fake' takes text input only"):
        await make_adapter(FakeEncoder(supports_token_ids=False)).embeddings(request([[3, 4]]))


async def test_chat_and_completion_say_the_provider_only_embeds() -> None:
    adapter = make_adapter()
    chat = ChatCompletionRequest(model="fake-embed", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(InvalidRequestError, match="serves embedding models only"):
        await adapter.chat_completion(chat)
    with pytest.raises(InvalidRequestError, match="/v1/embeddings"):
        await adapter.completion(CompletionRequest(model="fake-embed", prompt="hi"))


async def test_another_model_name_is_not_found() -> None:
    with pytest.raises(ModelNotFoundError):
        await make_adapter().embeddings(EmbeddingsRequest(model="other", input="hi"))


async def test_list_models_reports_one_embedding_model_with_its_dimension() -> None:
    (model,) = await make_adapter().list_models() or []
    assert model.provider_resource_id == "fake-embed" and model.model_type == ModelType.embedding
    assert model.metadata == {"embedding_dimension": DIM, "context_length": 16}


async def test_an_encoder_failure_is_a_provider_error_naming_the_provider() -> None:
    with pytest.raises(ProviderError, match="Provider 'fake' failed: .*kaboom"):
        await make_adapter(FakeEncoder(fail=True)).embeddings(request("hi"))


async def test_after_shutdown_requests_are_refused_and_health_says_so() -> None:
    adapter = make_adapter()
    assert (await adapter.health()).status == "OK"
    await adapter.shutdown()
    await adapter.shutdown()  # twice is harmless
    assert (await adapter.health()).status == "Error"
    with pytest.raises(ServiceUnavailableError):
        await adapter.embeddings(request("hi"))


async def test_warm_up_runs_the_encoder_once_on_its_worker_thread() -> None:
    encoder = FakeEncoder()
    await make_adapter(encoder).warm_up()
    assert len(encoder.batches) == 1 and encoder.threads[0].startswith("fake-embeddings")
