"""parse_line: which stdout lines are metadata events, and what the events hold."""

from __future__ import annotations

import json
import math

import pytest

from hyperstep.metadata import flatten, latest, parse_line


def test_a_json_object_line_is_an_event():
    assert parse_line('{"epoch": 1, "loss": 0.25, "ok": true, "name": "x"}') == {
        "epoch": 1,
        "loss": 0.25,
        "ok": True,
        "name": "x",
    }


def test_bytes_and_str_give_the_same_event():
    line = '{"acc": 0.9, "note": "héllo"}'
    assert parse_line(line.encode()) == parse_line(line) == {"acc": 0.9, "note": "héllo"}


def test_surrounding_whitespace_and_line_endings_are_ignored():
    assert parse_line(b'  \t{"a": 1}  \r\n') == {"a": 1}


def test_only_the_first_object_counts():
    assert parse_line('{"a":1} {"b":2}') == {"a": 1}
    assert parse_line('{"a":1}{"b":2}') == {"a": 1}
    assert parse_line('{"a":1} trailing text') == {"a": 1}


def test_text_before_the_object_is_allowed():
    assert parse_line('step 3: {"loss": 0.5}') == {"loss": 0.5}
    # A progress bar redrawn with \r, then the object: common with tqdm.
    assert parse_line(b' 50%|#####     | 5/10\r{"loss": 0.5}') == {"loss": 0.5}


def test_a_broken_first_object_makes_a_log_line_even_if_a_later_one_is_valid():
    assert parse_line('{not json} {"a": 1}') is None
    assert parse_line("{'a': 1}") is None  # a Python dict repr is not JSON


def test_nested_objects_are_flattened_with_dots():
    line = '{"a": {"b": 1, "c": {"d": 2}}, "e": 3}'
    assert parse_line(line) == {"a.b": 1, "a.c.d": 2, "e": 3}


def test_lists_stay_values():
    line = '{"data": [[1, 2], [3, 4]], "mixed": [1, {"x": 2}]}'
    assert parse_line(line) == {"data": [[1, 2], [3, 4]], "mixed": [1, {"x": 2}]}


def test_a_later_key_wins_a_flattening_collision():
    assert parse_line('{"a.b": 1, "a": {"b": 2}}') == {"a.b": 2}
    assert parse_line('{"a": {"b": 2}, "a.b": 1}') == {"a.b": 1}


def test_nan_and_infinity_are_floats():
    event = parse_line('{"a": NaN, "b": Infinity, "c": -Infinity}')
    assert event is not None
    assert math.isnan(event["a"]) and event["b"] == math.inf and event["c"] == -math.inf


def test_json_dumps_output_of_nan_round_trips():
    event = parse_line(json.dumps({"loss": float("nan")}))
    assert event is not None and math.isnan(event["loss"])


@pytest.mark.parametrize(
    "line",
    [
        "[1, 2, 3]",
        "42",
        '"a string"',
        "true",
        "null",
        "",
        "plain log line",
        "{}",
        '{"nested": {}}',
        "{",
        '{"a": 1',
        "}{",
    ],
)
def test_non_objects_and_empty_objects_are_not_metadata(line):
    assert parse_line(line) is None
    assert parse_line(line.encode()) is None


def test_invalid_utf8_does_not_crash_and_json_after_it_still_counts():
    assert parse_line(b'\xff\xfe{"a": 1}') == {"a": 1}
    assert parse_line(b'{"a": "\xff"}') == {"a": "\ufffd"}
    assert parse_line(b"\xc3\x28 not json") is None


def test_lone_surrogates_are_replaced_so_the_event_can_be_stored():
    event = parse_line('{"k\\ud800": "v\\udfff", "ok": "\\u00e9"}')
    assert event == {"k\ufffd": "v\ufffd", "ok": "é"}
    for key, value in event.items():
        (key + value).encode("utf-8")  # would raise on a lone surrogate


def test_hostile_lines_do_not_crash():
    assert parse_line("{" + '"a":' * 100_000) is None
    assert parse_line('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}") is None
    assert parse_line("{" * 200_000) is None
    assert parse_line('{"a": ' + "9" * 100_000 + "}") is None  # over Python's int digit limit
    big = parse_line('{"a": "' + "x" * 2_000_000 + '"}')
    assert big is not None and len(big["a"]) == 2_000_000


def test_deep_objects_flatten_without_recursion_limits():
    depth = 500
    line = '{"k": ' * depth + "1" + "}" * depth
    assert parse_line(line) == {".".join(["k"] * depth): 1}


def test_valohai_utils_deployment_wrapper_is_unwrapped():
    assert parse_line('{"vh_metadata": {"acc": 0.5}}') == {"acc": 0.5}
    assert parse_line('{"vh_metadata": {"acc": 0.5}, "x": 1}') == {"vh_metadata.acc": 0.5, "x": 1}


def test_valohai_utils_logger_output():
    # valohai.logger() prints "\n" + json.dumps(...): the JSON line itself is plain.
    output = "\n" + json.dumps({"myint": 123, "myfloat": 0.5435}, default=str) + "\n"
    events = [e for e in map(parse_line, output.splitlines()) if e is not None]
    assert events == [{"myint": 123, "myfloat": 0.5435}]


def test_flatten_keeps_order_and_custom_separator():
    assert list(flatten({"z": 1, "a": {"y": 2, "b": 3}, "c": 4})) == ["z", "a.y", "a.b", "c"]
    assert flatten({"a": {"b": 1}}, sep="/") == {"a/b": 1}


def test_latest_keeps_the_last_value_of_each_key():
    events = [
        {"epoch": 1, "loss": 0.9, "_time": "t1"},
        {"epoch": 2, "loss": 0.5, "_time": "t2"},
        {"test_accuracy": 0.8, "_time": "t3"},
    ]
    assert latest(events) == {"epoch": 2, "loss": 0.5, "test_accuracy": 0.8, "_time": "t3"}
    assert latest([]) == {}
    assert latest(iter(events)) == latest(events)


def test_docstring_examples():
    import doctest

    import hyperstep.metadata

    result = doctest.testmod(hyperstep.metadata)
    assert result.attempted > 0 and result.failed == 0
