"""Query rewriting is the server's own call: it runs as the system principal, not as the searcher."""

from polystack.apis.datatypes import User
from polystack.apis.inference.types import ChatCompletion
from polystack.core.access.policy import SYSTEM_PRINCIPAL
from polystack.core.request_context import acting_as, current_user
from polystack.core.vector_stores.query_rewrite import QueryRewriter


class RecordingInference:
    """Answers with a fixed rewrite and remembers as whom it was called."""

    def __init__(self) -> None:
        self.callers: list[User | None] = []

    async def chat_completion(self, request):  # type: ignore[no-untyped-def]
        self.callers.append(current_user.get())
        return ChatCompletion.model_validate({
            "id": "c", "object": "chat.completion", "created": 1, "model": request.model,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "better"}}]})


async def test_the_rewrite_runs_as_the_system_principal_and_the_caller_is_restored():
    inference = RecordingInference()
    alice = User(principal="alice")
    with acting_as(alice):
        assert await QueryRewriter(inference, "server-model").rewrite("q?") == "better"
        assert current_user.get() == alice
    assert [caller.principal for caller in inference.callers if caller] == [SYSTEM_PRINCIPAL]
