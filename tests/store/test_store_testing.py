"""The PostgreSQL test helpers other test folders rely on."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hyperstep.store.testing import (
    DEFAULT_POSTGRES_URL,
    drop_postgres_schema,
    fresh_postgres_url,
    postgres_unavailable,
    schema_of,
)


def _schemas() -> set[str]:
    engine = sa.create_engine(DEFAULT_POSTGRES_URL, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT schema_name FROM information_schema.schemata"))
            return set(rows.scalars())
    finally:
        engine.dispose()


def test_schema_of_reads_the_search_path() -> None:
    assert schema_of("postgresql+psycopg://u@h/db?options=-csearch_path%3Dtest_ab12") == "test_ab12"
    assert schema_of("postgresql+psycopg://u@h/db?options=-c%20search_path%3Dx") == "x"
    assert schema_of("postgresql+psycopg://u@h/db") is None
    with pytest.raises(ValueError, match="no search_path"):
        drop_postgres_schema("postgresql+psycopg://u@h/db")


def test_unreachable_server_gives_a_reason() -> None:
    reason = postgres_unavailable("postgresql+psycopg://postgres@127.0.0.1:1/test")
    assert reason is not None and "127.0.0.1:1" in reason and "unreachable" in reason


@pytest.mark.postgres
def test_fresh_schemas_are_unique_isolated_and_dropped(pg_url: str) -> None:
    other = fresh_postgres_url()
    try:
        first, second = schema_of(pg_url), schema_of(other)
        assert first and second and first != second
        assert {first, second} <= _schemas()
        engine = sa.create_engine(other, poolclass=sa.NullPool)
        try:
            with engine.begin() as conn:
                assert conn.execute(sa.text("SELECT current_schema()")).scalar() == second
                conn.execute(sa.text("CREATE TABLE probe (x int)"))
        finally:
            engine.dispose()
    finally:
        drop_postgres_schema(other)
    assert second not in _schemas()
    assert first in _schemas()  # the fixture's own schema is dropped after the test
