"""One request context: the user view, the system principal for internal calls, provider data."""

from polystack.apis.datatypes import User
from polystack.core.access.policy import SYSTEM_PRINCIPAL
from polystack.core.request_context import (
    acting_as,
    as_system,
    current_user,
    request_context,
    reset_provider_data,
    set_provider_data,
)


def test_internal_calls_run_as_the_system_principal_and_keep_the_callers_provider_data():
    with acting_as(User(principal="alice")):
        token = set_provider_data({"openai_api_key": "sk-1"})
        try:
            with as_system() as context:
                assert context.user is not None and context.user.principal == SYSTEM_PRINCIPAL
                assert request_context().provider_data == {"openai_api_key": "sk-1"}
            assert current_user.get() == User(principal="alice")
        finally:
            reset_provider_data(token)
    assert current_user.get() is None and request_context().provider_data is None


def test_a_request_keeps_one_id_and_code_outside_any_request_shares_none():
    with acting_as(None) as context:
        with as_system() as internal:  # the server's own call made for this request
            assert internal.request_id == context.request_id
        assert context.request_id == context.request_id and context.request_id.startswith("req_")
    assert request_context().request_id != request_context().request_id
