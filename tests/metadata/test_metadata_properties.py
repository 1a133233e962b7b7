"""Property tests: the parser never raises, events round-trip, splitting is chunking-blind."""

from __future__ import annotations

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from hyperstep.metadata import LineSplitter, latest, parse_line

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False),
    st.text(),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=1000)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(data):
    event = parse_line(data)
    assert event is None or (isinstance(event, dict) and event)


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_arbitrary_text_never_raises(text):
    event = parse_line(text)
    assert event is None or (isinstance(event, dict) and event)


@given(st.binary(max_size=40), json_values, st.binary(max_size=40))
def test_bytes_around_json_never_raise(prefix, value, suffix):
    parse_line(prefix + json.dumps(value).encode() + suffix)


@given(
    st.dictionaries(st.text(), json_scalars, min_size=1),
    st.booleans(),
    st.sampled_from(["", "  ", "log: ", "\r"]),
)
def test_a_dict_of_scalars_on_a_line_round_trips(event, ascii_only, prefix):
    line = prefix + json.dumps(event, ensure_ascii=ascii_only)
    expected = {k.encode("utf-8", "replace").decode(): v for k, v in event.items()}
    if all(_encodable(k) and _encodable(v) for k, v in event.items()):
        expected = event
        assert parse_line(line) == expected
        assert parse_line(line.encode("utf-8")) == expected
    else:  # lone surrogates are replaced; the keys survive, one per original key at most
        parsed = parse_line(line.encode("utf-8", "surrogatepass"))
        assert parsed is not None and len(parsed) <= len(expected)


def _encodable(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@given(
    st.dictionaries(
        st.text(alphabet="abc", min_size=1, max_size=3),
        st.dictionaries(st.text(alphabet="xyz", min_size=1, max_size=3), st.integers(), min_size=1),
        min_size=1,
    )
)
def test_nested_objects_flatten_to_dotted_keys(event):
    flat = {f"{outer}.{inner}": value for outer, d in event.items() for inner, value in d.items()}
    assert parse_line(json.dumps(event)) == flat


@given(st.lists(st.dictionaries(st.sampled_from("abcd"), st.integers(), min_size=1)))
def test_latest_equals_the_last_event_holding_each_key(events):
    result = latest(events)
    for key, value in result.items():
        last = [e[key] for e in events if key in e][-1]
        assert value == last
    assert set(result) == {k for e in events for k in e}


@given(st.binary(max_size=2000), st.lists(st.integers(min_value=0, max_value=2000), max_size=20))
def test_splitting_is_independent_of_chunking(data, cuts):
    expected = re.split(rb"\r?\n", data)
    last = expected.pop()
    if last:
        expected.append(last.removesuffix(b"\r"))
    points = sorted({min(c, len(data)) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    splitter = LineSplitter(max_line=4096)
    lines = [line for chunk in chunks for line in splitter.feed(chunk)] + splitter.flush()
    assert lines == expected


@given(
    st.lists(st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"")), min_size=1, max_size=10),
    st.integers(min_value=1, max_value=40),
    st.integers(min_value=1, max_value=50),
)
def test_long_lines_are_cut_consistently_for_any_chunking(lines, max_line, chunk_size):
    data = b"\n".join(lines) + b"\n"
    chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]
    splitter = LineSplitter(max_line)
    out = [line for chunk in chunks for line in splitter.feed(chunk)] + splitter.flush()
    whole = LineSplitter(max_line)
    assert out == whole.feed(data) + whole.flush()
    assert len(out) == len(lines)
    for original, line in zip(lines, out, strict=True):
        content = original.removesuffix(b"\r")
        if len(content) <= max_line:
            assert line == content
        else:
            kept, marker = line.split(" …[truncated ".encode(), 1)
            assert content.startswith(kept) and max_line - 3 <= len(kept) <= max_line
            assert int(marker.removesuffix(b" bytes]")) == len(content) - len(kept)
