"""PostgreSQL helpers for tests: one fresh schema per test, so runs never collide.

Usage in a conftest (``tests/store/conftest.py`` has ready fixtures)::

    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    url = fresh_postgres_url()          # a new empty schema in database "test"
    store = Store.open(url, tmp_path)   # migrates the schema
    ...
    store.close()
    drop_postgres_schema(url)

The returned URL carries ``options=-csearch_path=<schema>``, which psycopg passes to the
server, so every table hyperstep creates lands in that schema.
"""

from __future__ import annotations

import re
import uuid

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

#: The test server every developer and CI machine has (trust authentication).
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

_SEARCH_PATH = re.compile(r"-c\s*search_path\s*=\s*([A-Za-z_][A-Za-z0-9_]*)")


def _base(url: str) -> URL:
    return make_url(url).difference_update_query(["options"])


def _admin_engine(url: str) -> sa.Engine:
    return sa.create_engine(_base(url), poolclass=sa.NullPool, connect_args={"connect_timeout": 5})


def postgres_unavailable(base_url: str = DEFAULT_POSTGRES_URL) -> str | None:
    """None when the server answers, else why not (for ``pytest.skip``)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'hyperstep[postgres]')"
    engine = _admin_engine(base_url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        where = _base(base_url).render_as_string(hide_password=True)
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return f"PostgreSQL at {where} is unreachable: {first}"
    finally:
        engine.dispose()
    return None


def fresh_postgres_url(base_url: str = DEFAULT_POSTGRES_URL, prefix: str = "test") -> str:
    """Create an empty, uniquely named schema and return a URL whose search_path is it."""
    schema = f"{prefix}_{uuid.uuid4().hex[:16]}"
    engine = _admin_engine(base_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    finally:
        engine.dispose()
    url = _base(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def schema_of(url: str) -> str | None:
    """The schema named by the URL's ``options=-csearch_path=...``, if any."""
    options = make_url(url).query.get("options")
    text = options if isinstance(options, str) else " ".join(options or ())
    match = _SEARCH_PATH.search(text)
    return match.group(1) if match else None


def drop_postgres_schema(url: str) -> None:
    """Drop the schema a :func:`fresh_postgres_url` URL points to, with everything in it."""
    schema = schema_of(url)
    if schema is None:
        raise ValueError(f"{make_url(url).render_as_string()} names no search_path schema")
    engine = _admin_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()
