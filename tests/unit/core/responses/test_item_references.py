"""`item_reference` input items: resolved against the previous_response_id chain; an unknown id is a 400."""

from __future__ import annotations

import openai
import pytest

from tests.unit.core.responses.conftest import MODEL, record, valid


async def test_a_reference_to_an_earlier_item_is_read_as_that_item(connect):
    async with connect([{"content": "First answer."}, {"content": "Second answer."},
                        {"content": "Third answer."}]) as stack:
        recorder = record(stack)
        first = await stack.openai.responses.create(model=MODEL, input="Remember the word 'heron'.")
        second = await stack.openai.responses.create(model=MODEL, input="Now something else.",
                                                     previous_response_id=first.id)
        first_input = (await stack.openai.responses.input_items.list(first.id)).data[0].id
        third = await stack.openai.responses.create(
            model=MODEL, previous_response_id=second.id,
            input=[{"type": "item_reference", "id": first_input},  # two responses back
                   {"type": "item_reference", "id": first.output[0].id},
                   {"role": "user", "content": "Which word?"}])
        valid(third)
        sent = recorder.requests[-1].messages
        tail = [(m.role, m.content) for m in sent[-3:]]
        assert tail == [("user", "Remember the word 'heron'."), ("assistant", "First answer."),
                        ("user", "Which word?")]
        stored = (await stack.openai.responses.input_items.list(third.id, order="asc")).data
        assert [item.type for item in stored] == ["message", "message", "message"]  # kept as the items themselves
        assert stored[1].id == first.output[0].id


async def test_an_unknown_reference_is_a_400_naming_it(connect):
    async with connect([{"content": "ok"}]) as stack:
        first = await stack.openai.responses.create(model=MODEL, input="hi")
        for extra in ({"previous_response_id": first.id}, {}):
            with pytest.raises(openai.BadRequestError) as info:
                await stack.openai.responses.create(model=MODEL, input=[
                    {"role": "user", "content": "x"}, {"type": "item_reference", "id": "msg_nowhere"}], **extra)
            assert info.value.body["param"] == "input[1].id"
