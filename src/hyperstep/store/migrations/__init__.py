"""Alembic migrations of the store's schema (run in code by :mod:`hyperstep.store.migrate`)."""
