"""JSON values the server can store and send back: 64-bit integers, no lone surrogates, bounded nesting."""

from polystack.apis.json_values import MAX_JSON_DEPTH, json_problem


def test_plain_json_has_no_problem():
    assert json_problem({"a": [1, -2, 2**64 - 1, -(2**63), "é", {"b": None}], "c": 1.5}) is None


def test_an_integer_beyond_64_bits_is_named_by_its_path():
    assert json_problem({"a": [0, {"b": 2**64}]}) == ("a[1].b", "integer out of range (64 bits at most)")
    assert json_problem({"a": -(2**63) - 1})[0] == "a"


def test_a_lone_surrogate_is_named_in_values_and_keys():
    assert json_problem({"a": ["ok", "x\ud800"]})[0] == "a[1]"
    assert json_problem({"k\udc00": 1})[0] == "k\\udc00"


def test_nesting_deeper_than_the_limit_is_refused():
    deep: list = []
    for _ in range(MAX_JSON_DEPTH + 5):
        deep = [deep]
    path, message = json_problem({"a": deep})
    assert path.startswith("a[0]") and "nest" in message
    assert json_problem({"a": [[[]]]}, max_depth=3) is not None and json_problem([[[]]], max_depth=3) is None


def test_long_lists_of_numbers_and_strings_are_checked_item_by_item_only_when_needed():
    assert json_problem({"ids": list(range(100_000))}) is None
    assert json_problem({"ids": [1, 2.5, None, 2**64]}) == ("ids[3]", "integer out of range (64 bits at most)")
    assert json_problem({"texts": ["a", "é", "b\udc80"]})[0] == "texts[2]"
    assert json_problem({"ids": [1, 2**64]}, scalars=False) is None  # nesting only
