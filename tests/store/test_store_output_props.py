"""Property tests of output ingestion: any text is storable, and batches never lose or reorder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hyperstep.store import MAX_MESSAGE_BYTES, Store
from hyperstep.store.output import clean_message

# Any code point, surrogates and NUL included: what a decoder with errors="surrogateescape"
# or a binary-spewing program can hand over.
ANY_CHAR = st.characters(exclude_categories=())
MARKER_ROOM = 200  # the truncation marker's length


@given(
    piece=st.text(ANY_CHAR, min_size=1, max_size=12),
    repeat=st.integers(0, 12000),
    stream=st.sampled_from(["stdout", "stderr", "status"]),
)
@settings(max_examples=150, deadline=None)
def test_any_message_becomes_storable(piece: str, repeat: int, stream: str) -> None:
    message = piece * repeat
    cleaned = clean_message(message, stream)
    data = cleaned.encode("utf-8")  # raises if a lone surrogate survived
    assert "\x00" not in cleaned
    assert len(data) <= MAX_MESSAGE_BYTES + MARKER_ROOM
    storable = message.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    if len(storable.encode("utf-8")) <= MAX_MESSAGE_BYTES:
        assert cleaned == storable
    else:
        head, _, marker = cleaned.rpartition(" [… ")
        assert storable.startswith(head)
        assert len(head.encode("utf-8")) > MAX_MESSAGE_BYTES - 4  # cut at a character boundary
        assert "truncated" in marker


@pytest.fixture(scope="module")
def module_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    root = tmp_path_factory.mktemp("props")
    store = Store.open(f"sqlite:///{root / 'store.db'}?synchronous=normal", Path(root))
    yield store
    store.close()


LINE = st.tuples(st.sampled_from(["stdout", "stderr"]), st.text(ANY_CHAR, max_size=30))
EVENT = st.dictionaries(
    st.sampled_from(["loss", "acc", "epoch", "note"]),
    st.one_of(st.floats(allow_nan=False), st.integers(-(2**53), 2**53), st.text(max_size=5)),
    min_size=1,
)


@given(
    batches=st.lists(
        st.tuples(st.lists(LINE, max_size=20), st.lists(EVENT, max_size=4)), max_size=6
    )
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_batches_are_stored_in_order_and_merged(
    module_store: Store, batches: list[tuple[list[tuple[str, str]], list[dict[str, object]]]]
) -> None:
    rec = module_store.create_execution(
        step="s", parameters={}, command="c", exec_dir_template="e/{counter}"
    )
    offsets = {"stdout": 0, "stderr": 0}
    expected_lines: list[tuple[str, str]] = []
    expected_meta: dict[str, object] = {}
    for t, (lines, events) in enumerate(batches):
        for stream, message in lines:
            offsets[stream] += len(message.encode("utf-8", "replace")) + 1
            expected_lines.append((stream, clean_message(message, stream)))
        for event in events:
            expected_meta.update(event)
        module_store.append_output(
            rec.id,
            logs=[(stream, float(t), message) for stream, message in lines],
            events=[(float(t), event) for event in events],
            stdout_offset=offsets["stdout"],
            stderr_offset=offsets["stderr"],
        )
    stored = module_store.get_logs(rec.id)
    assert [(line.stream, line.message) for line in stored] == expected_lines
    assert [line.seq for line in stored] == list(range(1, len(expected_lines) + 1))
    after = module_store.get_execution(id=rec.id)
    assert after.cumulative_metadata == expected_meta
    assert (after.stdout_offset, after.stderr_offset) == (offsets["stdout"], offsets["stderr"])
    assert after.n_events == sum(len(events) for _, events in batches)
