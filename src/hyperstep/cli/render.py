"""Rich renderings of tasks: the live progress line, the best-executions table, the dry run."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from hyperstep.cli.common import fmt_duration, fmt_value
from hyperstep.engine.task import Progress as TaskProgress
from hyperstep.service import Context, ranked_executions
from hyperstep.store import TaskRecord
from hyperstep.taskspec import TaskSpec


class ProgressDisplay:
    """done / running / failed, best so far and an ETA, redrawn in place."""

    def __init__(self, console: Console, title: str, metric: str | None) -> None:
        self.console = console
        self.metric = metric
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.task_id: TaskID | None = None
        self.title = title

    def __enter__(self) -> ProgressDisplay:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)

    def update(self, prog: TaskProgress) -> None:
        if self.task_id is None:
            self.task_id = self.bar.add_task(self.title, total=prog.total, detail="")
        elapsed = time.monotonic() - prog.started
        eta = ""
        if 0 < prog.done < prog.total:
            eta = f" ETA {fmt_duration(elapsed / prog.done * (prog.total - prog.done))}"
        best = ""
        if prog.best_counter is not None:
            best = f" best {self.metric}={fmt_value(prog.best_metric)} (#{prog.best_counter})"
        detail = f"running {prog.running} failed {prog.failed}{best}{eta}"
        self.bar.update(self.task_id, total=prog.total, completed=prog.done, detail=detail)


def best_table(ctx: Context, task: TaskRecord, *, top: int = 10) -> Table:
    spec = TaskSpec.from_json(task.spec)
    ranked = ranked_executions(ctx, task)[:top]
    table = Table(title=f"Best executions of task !{task.counter}", show_lines=False)
    # Only what the task varies: the fixed parameters are the same on every row.
    names = [n for n in spec.parameters] or (
        sorted({k for r, _ in ranked for k in r.parameters}) if ranked else []
    )
    if spec.parameter_sets:
        names = sorted({k for s in spec.parameter_sets for k in s})
    table.add_column("rank", justify="right")
    table.add_column("#", justify="right")
    if spec.optimization_target_metric:
        table.add_column(spec.optimization_target_metric, justify="right", no_wrap=True)
    for name in names:
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("duration", justify="right")
    for rank, (record, _value) in enumerate(ranked, start=1):
        row = [str(rank), f"#{record.counter}"]
        if spec.optimization_target_metric:
            row.append(fmt_value(record.cumulative_metadata.get(spec.optimization_target_metric)))
        row += [fmt_value(record.parameters.get(n)) for n in names]
        row.append(fmt_duration(record.duration))
        table.add_row(*row)
    return table


def describe_space(spec: TaskSpec, info: dict[str, Any]) -> Table:
    table = Table(title=f"{spec.type.value} over step {spec.step!r}: {info['count']} executions")
    table.add_column("parameter")
    table.add_column("values")
    for name, text in info["parameters"].items():
        table.add_row(name, text)
    return table


def best_line(ctx: Context, task: TaskRecord) -> str | None:
    """One line a user can copy: the best execution and its parameters."""
    spec = TaskSpec.from_json(task.spec)
    ranked = ranked_executions(ctx, task)
    if not ranked:
        return None
    record, _ = ranked[0]
    metric = spec.optimization_target_metric or ""
    names = list(spec.parameters) or list(record.parameters)
    params = " ".join(f"--{n}={record.parameters.get(n)}" for n in names)
    return (
        f"Best: #{record.counter} {metric}={fmt_value(record.cumulative_metadata.get(metric))} "
        f"with {params}"
    )
