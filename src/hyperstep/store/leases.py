"""Task leases: two engines never drive the same task.

An engine holds a task's lease while it drives it and renews it well before it expires; another
engine may take it over only once it has expired. Expiry is computed with the database's clock
(Optuna's heartbeat does the same), so engines on hosts whose clocks disagree still agree on it.
Each operation is a single conditional UPDATE, hence atomic.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hyperstep.store.base import QueriesBase
from hyperstep.store.schema import tasks
from hyperstep.store.tasks import require_task


def _check_ttl(ttl: float) -> None:
    if not ttl > 0:
        raise ValueError(f"a lease's ttl must be positive, not {ttl!r}")


class LeaseQueries(QueriesBase):
    """Acquire, renew, release and inspect a task's lease."""

    def acquire_lease(self, task_id: str, owner: str, ttl: float) -> bool:
        """Take the lease for ``ttl`` seconds if it is free, expired, or already ``owner``'s."""
        _check_ttl(ttl)
        now = self._db.now()
        statement = (
            sa.update(tasks)
            .where(
                tasks.c.id == task_id,
                sa.or_(
                    tasks.c.lease_owner.is_(None),
                    tasks.c.lease_owner == owner,
                    tasks.c.lease_expires.is_(None),
                    tasks.c.lease_expires < now,
                ),
            )
            .values(lease_owner=owner, lease_expires=now + float(ttl))
        )
        return self._db.write(lambda conn: self._changed(conn, statement, task_id))

    def renew_lease(self, task_id: str, owner: str, ttl: float) -> bool:
        """Extend ``owner``'s lease; False when another owner holds it (or it was released).

        A lease that expired but that nobody took over is still ``owner``'s and renews: no one
        else can have driven the task in between.
        """
        _check_ttl(ttl)
        statement = (
            sa.update(tasks)
            .where(tasks.c.id == task_id, tasks.c.lease_owner == owner)
            .values(lease_expires=self._db.now() + float(ttl))
        )
        return self._db.write(lambda conn: self._changed(conn, statement, task_id))

    def release_lease(self, task_id: str, owner: str) -> bool:
        """Give the lease up; False (and nothing changed) when ``owner`` does not hold it."""
        statement = (
            sa.update(tasks)
            .where(tasks.c.id == task_id, tasks.c.lease_owner == owner)
            .values(lease_owner=None, lease_expires=None)
        )
        return self._db.write(lambda conn: self._changed(conn, statement, task_id))

    def lease_info(self, task_id: str) -> tuple[str, float] | None:
        """``(owner, expires)`` of a live lease, or None when the task is free or it expired.

        ``expires`` is in the database's clock; :meth:`Store.now` reads that clock.
        """
        statement = sa.select(
            tasks.c.lease_owner, tasks.c.lease_expires, self._db.now().label("now")
        ).where(tasks.c.id == task_id)
        with self._db.read() as conn:
            row = conn.execute(statement).one_or_none()
            if row is None:
                require_task(conn, task_id)
        if row is None or row.lease_owner is None or row.lease_expires is None:
            return None
        if row.lease_expires < row.now:
            return None
        return str(row.lease_owner), float(row.lease_expires)

    @staticmethod
    def _changed(conn: Connection, statement: sa.Update, task_id: str) -> bool:
        if conn.execute(statement).rowcount == 1:
            return True
        require_task(conn, task_id)
        return False
