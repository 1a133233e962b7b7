"""The initial schema: counters, tasks, executions, their metadata events and log lines.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Written out in full rather than imported from ``schema.py``: a migration must keep building
the schema of its own time when the models move on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    counters = op.create_table(
        "counters",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_counters"),
    )
    op.bulk_insert(counters, [{"name": "execution", "value": 0}, {"name": "task", "value": 0}])

    op.create_table(
        "tasks",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("counter", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("step", sa.Text(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("ctime", sa.Double(), nullable=False),
        sa.Column("start_time", sa.Double(), nullable=True),
        sa.Column("end_time", sa.Double(), nullable=True),
        sa.Column("status_detail", sa.Text(), nullable=True),
        sa.Column("stopped_by_execution", sa.Integer(), nullable=True),
        sa.Column("lease_owner", sa.Text(), nullable=True),
        sa.Column("lease_expires", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tasks"),
        sa.UniqueConstraint("counter", name="uq_tasks_counter"),
    )
    op.create_index("ix_tasks_status_counter", "tasks", ["status", "counter"])

    op.create_table(
        "executions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("counter", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(36), nullable=True),
        sa.Column("task_index", sa.Integer(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False, server_default=sa.text("1")),
        sa.Column("step", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("exec_dir", sa.Text(), nullable=False),
        sa.Column("runner_ref", sa.Text(), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("host", sa.Text(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("ctime", sa.Double(), nullable=False),
        sa.Column("queue_time", sa.Double(), nullable=True),
        sa.Column("start_time", sa.Double(), nullable=True),
        sa.Column("end_time", sa.Double(), nullable=True),
        sa.Column("status_detail", sa.Text(), nullable=True),
        sa.Column("cumulative_metadata", sa.Text(), nullable=False),
        sa.Column("stdout_offset", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("stderr_offset", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("n_log_lines", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("n_events", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.PrimaryKeyConstraint("id", name="pk_executions"),
        sa.UniqueConstraint("counter", name="uq_executions_counter"),
        sa.UniqueConstraint("task_id", "task_index", name="uq_executions_task_id_task_index"),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name="fk_executions_task_id_tasks", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_executions_task_id_counter", "executions", ["task_id", "counter"])
    op.create_index("ix_executions_task_id_status", "executions", ["task_id", "status"])
    op.create_index("ix_executions_status_counter", "executions", ["status", "counter"])

    op.create_table(
        "metadata_events",
        sa.Column("execution_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("time", sa.Double(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("execution_id", "seq", name="pk_metadata_events"),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name="fk_metadata_events_execution_id_executions",
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "log_lines",
        sa.Column("execution_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(8), nullable=False),
        sa.Column("time", sa.Double(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("execution_id", "seq", name="pk_log_lines"),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name="fk_log_lines_execution_id_executions",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    for table in ("log_lines", "metadata_events", "executions", "tasks", "counters"):
        op.drop_table(table)
