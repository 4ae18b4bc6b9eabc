"""inline::llama-guard: its prompt, the robust reading of the guard's answer, and verdicts through the stack."""

from __future__ import annotations

import pytest

import polystack
from polystack.providers.inline.safety.llama_guard.prompt import (
    UnreadableVerdict,
    build_prompt,
    parse_verdict,
    role_checked,
)
from polystack.testing.fake_safety_apis import FakeSafetyAPIs
from tests.unit.core.routing.safety_stack import safety_config

# (the guard's raw answer, the codes it means: None = safe); every one must be read right
ANSWERS = [
    ("safe", None),
    ("Safe", None),
    ("  safe\n", None),
    ("safe.", None),
    ("unsafe\nS1", ["S1"]),
    ("unsafe\nS1,S10", ["S1", "S10"]),
    ("unsafe\nS1, S10, S14", ["S1", "S10", "S14"]),
    ("Unsafe\n s2 ", ["S2"]),
    ("unsafe S11", ["S11"]),
    ("unsafe\n\nS3\nS3", ["S3"]),
    ("unsafe", []),
    ("**unsafe**\nS12", ["S12"]),
    ("unsafe\nS15,S1", ["S1"]),  # no S15 in the taxonomy
]
GARBAGE = ["", "I think this is fine", "The conversation is safe", "sa fe", "unsafety"]


def test_the_guards_answers_are_all_read_right():
    right = sum(parse_verdict(answer) == expected for answer, expected in ANSWERS)
    assert right == len(ANSWERS), f"accuracy {right}/{len(ANSWERS)}"


@pytest.mark.parametrize("answer", GARBAGE)
def test_an_answer_that_is_neither_safe_nor_unsafe_is_an_error(answer):
    with pytest.raises(UnreadableVerdict):
        parse_verdict(answer)


def test_the_prompt_names_the_role_checked_the_turns_and_the_policy_minus_exclusions():
    conversation = [{"role": "system", "content": "be nice"}, {"role": "user", "content": "hi there"},
                    {"role": "assistant", "content": [{"type": "text", "text": "hello!"}]}]
    assert role_checked(conversation) == "Agent" and role_checked(conversation[:2]) == "User"
    prompt = build_prompt(conversation, excluded={"S6", "S8"})
    assert "in 'Agent' messages" in prompt and "ONLY THE LAST Agent message" in prompt
    assert "User: hi there\n\nAgent: hello!" in prompt and "be nice" not in prompt
    assert "S1: Violent Crimes." in prompt and "S14: Code Interpreter Abuse." in prompt
    assert "S6:" not in prompt and "S8:" not in prompt


@pytest.fixture
async def fake():
    async with FakeSafetyAPIs() as server:
        yield server


async def run(library, text: str, shield: str = "llama-guard"):  # type: ignore[no-untyped-def]
    return await library.http.post("/v1/safety/run-shield", json={
        "shield_id": shield, "messages": [{"role": "user", "content": text}]})


async def test_verdicts_of_a_scripted_guard_through_the_stack(tmp_path, fake):
    answers = ("safe", "unsafe\nS1,S10", "unsafe\nS6", "no idea")
    async with polystack.connect(safety_config(tmp_path, fake, guard_replies=answers)) as library:
        await library.http.post("/v1/shields", json={"shield_id": "lenient", "provider_id": "llama-guard",
                                                     "provider_shield_id": "guard/guard-model",
                                                     "params": {"excluded_categories": ["S6"]}})
        assert (await run(library, "hello")).json() == {"violation": None}
        violation = (await run(library, "x")).json()["violation"]
        assert violation["metadata"]["categories"] == ["S1", "S10"]
        assert violation["metadata"]["category_names"] == ["Violent Crimes", "Hate"]
        assert (await run(library, "x", shield="lenient")).json() == {"violation": None}  # only S6: excluded
        unreadable = await run(library, "x")
        assert unreadable.status_code == 502
        assert "Shield 'llama-guard'" in unreadable.json()["error"]["message"]
        assert "no idea" in unreadable.json()["error"]["message"]


async def test_moderations_map_hazards_to_openai_categories(tmp_path, fake):
    async with polystack.connect(safety_config(tmp_path, fake, guard_replies=("unsafe\nS10,S7",))) as library:
        moderation = await library.openai.moderations.create(model="llama-guard", input="they are all vermin")
        [result] = moderation.results
        assert result.flagged and result.categories.hate and not result.categories.violence
        assert result.category_scores.hate == 1.0


async def test_a_guard_model_that_is_gone_is_a_502_naming_the_shield(tmp_path, fake):
    async with polystack.connect(safety_config(tmp_path, fake)) as library:
        library.stack.impls["models"].providers.pop("guard")  # the guard's provider vanished under the shield
        answer = await run(library, "hello")
        assert answer.status_code == 502 and "Shield 'llama-guard'" in answer.json()["error"]["message"]
