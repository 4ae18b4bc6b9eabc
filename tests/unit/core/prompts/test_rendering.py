"""Prompt templates: which variables a template may use, and rendering values into it, literally."""

from __future__ import annotations

import pytest

from polystack.apis.errors import InvalidRequestError
from polystack.apis.prompts.types import Prompt
from polystack.core.prompts.rendering import check_template, placeholders, render

PROMPT_ID = "pmpt_" + "ab" * 24


def prompt(template: str, variables: list[str]) -> Prompt:
    return Prompt(prompt=template, version=3, prompt_id=PROMPT_ID, variables=variables)


def test_placeholders_are_found_with_or_without_spaces_each_once_in_order() -> None:
    assert placeholders("{{b}} {{ a }} {{  b  }} {{\ta\n}}") == ["b", "a"]


def test_a_declared_variable_need_not_be_used() -> None:
    assert check_template("Hello {{ name }}", ["name", "unused"]) == ["name", "unused"]


@pytest.mark.parametrize(("template", "variables", "param", "named"), [
    ("Hi {{ name }} from {{ city }}", ["name"], "variables", "'city'"),
    ("Hi", ["1st"], "variables[0]", "'1st'"),
    ("Hi", ["ok", "with-dash"], "variables[1]", "'with-dash'"),
    ("Hi", ["name", "café"], "variables[1]", "'café'"),
    ("Hi {{ name }}", ["name", "name"], "variables[1]", "'name'"),
    ("Hi {{ 2x }}", [], "prompt", "2x"),
    ("Hi {{ café }}", [], "prompt", "café"),
])
def test_a_bad_or_undeclared_variable_is_a_400_naming_it(template: str, variables: list[str], param: str,
                                                          named: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        check_template(template, variables)
    assert raised.value.status_code == 400 and raised.value.param == param and named in raised.value.message


def test_text_that_is_not_a_placeholder_stays_as_it_is() -> None:
    template = "JSON: {\"a\": 1}, {{ user.name }}, { {x} }, {{}}"
    assert check_template(template, []) == []
    assert render(prompt(template, []), {}) == template


def test_render_fills_every_occurrence_of_each_variable() -> None:
    filled = render(prompt("{{ a }}+{{a}}={{ b }}; {{ a }}", ["a", "b"]), {"a": "1", "b": "2"})
    assert filled == "1+1=2; 1"


def test_values_are_inserted_literally_never_read_as_templates() -> None:
    values = {"a": "{{ b }}", "b": r"\1 \g<0> {{ a }} }}{{"}
    assert render(prompt("[{{ a }}] [{{ b }}]", ["a", "b"]), values) == r"[{{ b }}] [\1 \g<0> {{ a }} }}{{]"


def test_braces_around_a_placeholder_are_kept() -> None:
    assert render(prompt("{{{ a }}}", ["a"]), {"a": "x"}) == "{x}"


def test_a_placeholder_without_a_value_is_a_400_naming_it() -> None:
    with pytest.raises(InvalidRequestError) as raised:
        render(prompt("{{ a }} {{ b }} {{ c }}", ["a", "b", "c"]), {"b": "2"})
    assert raised.value.param == "prompt.variables.a" and "'a'" in raised.value.message
    assert "a, c" in raised.value.message


def test_a_value_for_an_undeclared_variable_is_a_400_naming_it() -> None:
    with pytest.raises(InvalidRequestError) as raised:
        render(prompt("{{ a }}", ["a"]), {"a": "1", "z": "2"})
    assert raised.value.param == "prompt.variables.z" and "'z'" in raised.value.message


def test_a_declared_but_unused_variable_needs_no_value_and_may_have_one() -> None:
    assert render(prompt("{{ a }}", ["a", "b"]), {"a": "1"}) == "1"
    assert render(prompt("{{ a }}", ["a", "b"]), {"a": "1", "b": "2"}) == "1"


def test_a_value_that_is_not_a_string_is_a_400_and_the_param_prefix_is_the_callers() -> None:
    with pytest.raises(InvalidRequestError) as raised:
        render(prompt("{{ a }}", ["a"]), {"a": 3}, param="variables")  # type: ignore[dict-item]
    assert raised.value.param == "variables.a"


def test_an_empty_value_is_a_value() -> None:
    assert render(prompt("<{{ a }}>", ["a"]), {"a": ""}) == "<>"
