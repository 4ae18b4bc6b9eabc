"""Turns through the Responses engine, streamed as Llama Stack steps (the scripted model, exact text)."""

from __future__ import annotations

from tests.unit.core.agents.conftest import connect, new_agent, new_session, shape, stream_turn  # noqa: F401


async def test_a_streamed_turn_is_one_inference_step_between_turn_start_and_turn_complete(connect):
    async with connect([{"content": "Hello there."}]) as stack:
        agent = await new_agent(stack.http)
        session = await new_session(stack.http, agent)
        payloads = await stream_turn(stack.http, f"/v1alpha/agents/{agent}/session/{session}/turn",
                                     {"messages": [{"role": "user", "content": "Hi"}]})
    assert shape(payloads) == ["turn_start", "step_start:inference", "step_progress:inference",
                               "step_complete:inference", "turn_complete"]
    text = "".join(p["delta"]["text"] for p in payloads if p["event_type"] == "step_progress")
    assert text == "Hello there."
    turn = payloads[-1]["turn"]
    assert turn["output_message"] == {"role": "assistant", "content": "Hello there.", "stop_reason": "end_of_turn",
                                      "tool_calls": []}
    assert [s["step_type"] for s in turn["steps"]] == ["inference"]
    assert turn["turn_id"] == payloads[0]["turn_id"] and turn["session_id"] == session
