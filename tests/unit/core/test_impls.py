"""Impls: another API is read back as its protocol, and an object missing a method fails at startup."""

from __future__ import annotations

import pytest

from polystack.apis.datatypes import Api
from polystack.apis.models.protocol import Models
from polystack.core.errors import StackError
from polystack.core.impls import Impls, all_as


class FullModels:
    async def list_models(self) -> list[object]:
        return []

    async def get_model(self, model_id: str) -> object:
        return model_id

    async def register_model(self, request: object) -> object:
        return request

    async def unregister_model(self, model_id: str) -> None:
        return None


class HalfModels:
    async def list_models(self) -> list[object]:
        return []


def test_a_served_api_is_returned_as_its_protocol() -> None:
    models = FullModels()
    assert Impls({Api.models: models}).require(Api.models, Models) is models


def test_an_api_that_is_not_served_is_none_or_a_stack_error_naming_it() -> None:
    assert Impls().get_as(Api.models, Models) is None
    with pytest.raises(StackError, match="models API is needed but not served"):
        Impls().require(Api.models, Models)


def test_an_object_missing_methods_is_refused_with_their_names() -> None:
    with pytest.raises(StackError, match="HalfModels.*Models.*get_model, register_model, unregister_model"):
        Impls({Api.models: HalfModels()}).require(Api.models, Models)


def test_every_provider_is_checked_and_the_failing_one_named() -> None:
    assert all_as({"a": FullModels()}, Models, Api.models).keys() == {"a"}
    with pytest.raises(StackError, match="provider 'b' of models"):
        all_as({"a": FullModels(), "b": HalfModels()}, Models, Api.models)
