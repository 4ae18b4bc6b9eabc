"""Model registrations are checked before they are stored: what is stored can always be listed."""

import pytest
from pydantic import ValidationError

from polystack.apis.models.types import Model, RegisterModelRequest


@pytest.mark.parametrize("metadata", [{"n": 2**64}, {"s": "\ud800"}, {"k\udfff": 1}])
def test_metadata_that_cannot_be_sent_back_is_refused(metadata):
    with pytest.raises(ValidationError) as info:
        RegisterModelRequest(model_id="m", metadata=metadata)
    assert info.value.errors()[0]["loc"][0] == "metadata"


@pytest.mark.parametrize("dimension", ["384", 0, -1, 2.5, True, None, [1]])
def test_an_embedding_dimension_must_be_a_positive_integer(dimension):
    with pytest.raises(ValidationError, match="embedding_dimension"):
        Model(identifier="e", provider_id="p", provider_resource_id="e", model_type="embedding",
              metadata={"embedding_dimension": dimension})
    with pytest.raises(ValidationError, match="embedding_dimension"):
        RegisterModelRequest(model_id="e", model_type="embedding", metadata={"embedding_dimension": dimension})


def test_a_good_embedding_model_validates():
    model = Model(identifier="e", provider_id="p", provider_resource_id="e", model_type="embedding",
                  metadata={"embedding_dimension": 384})
    assert model.metadata["embedding_dimension"] == 384
