"""``hyperstep task``: run blueprints, create tasks from the command line, watch and export."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from hyperstep.cli.cluster_cmds import (
    executor_options,
    resources_option,
    retries_option,
    scheduler_option,
)
from hyperstep.cli.common import (
    Settings,
    fmt_time,
    fmt_value,
    json_option,
    pass_settings,
    print_json,
)
from hyperstep.cli.render import ProgressDisplay, best_line, best_table, describe_space
from hyperstep.engine.plan import preview
from hyperstep.errors import ValidationError
from hyperstep.model import OnChildError, TaskStatus, TaskType
from hyperstep.service import (
    Context,
    create_task,
    export_task,
    find_unfinished,
    run_task,
    spec_from_blueprint,
    stop_task,
    task_json,
)
from hyperstep.space import parse_distribution
from hyperstep.taskspec import TaskSpec, validate_task_spec


@click.group("task")
def task_group() -> None:
    """Run and inspect tasks (grid, random, manual and Bayesian searches)."""


def _drive(ctx: Context, spec: TaskSpec, *, new: bool, as_json: bool, quiet: bool) -> None:
    task = None if new else find_unfinished(ctx, spec)
    console = Console(stderr=True)
    if task is not None:
        console.print(f"Resuming task !{task.counter} ({task.name}), which has not finished.")
    else:
        task = create_task(ctx, spec)
        console.print(f"Task !{task.counter} created ({spec.type.value} over {spec.step!r}).")
    _run_and_report(ctx, task, as_json=as_json, quiet=quiet)


def _run_and_report(ctx: Context, task: Any, *, as_json: bool, quiet: bool) -> None:
    spec = TaskSpec.from_json(task.spec)
    console = Console(stderr=True)
    if as_json or quiet:
        task = run_task(ctx, task)
    else:
        title = f"!{task.counter} {spec.type.value}"
        with ProgressDisplay(console, title, spec.optimization_target_metric) as display:
            task = run_task(ctx, task, progress=display.update)
    if as_json:
        print_json(task_json(ctx, task))
    else:
        out = Console()
        if spec.optimization_target_metric:
            out.print(best_table(ctx, task))
            line = best_line(ctx, task)
            if line:
                out.print(line, highlight=False, markup=False, soft_wrap=True)
        detail = f" ({task.status_detail})" if task.status_detail else ""
        summary = ctx.store.task_status_summary(task.id)
        counts = ", ".join(
            f"{v} {k.removesuffix('_count')}" for k, v in summary.items() if k != "count" and v
        )
        color = "green" if task.status is TaskStatus.COMPLETE else "yellow"
        out.print(
            f"[{color}]Task !{task.counter} {task.status.value}{detail}[/{color}]: {counts}",
            highlight=False,
        )
    # A task that met its stop condition reached its goal: that is a success too.
    met_goal = task.status is TaskStatus.STOPPED and task.stopped_by_execution is not None
    sys.exit(0 if task.status is TaskStatus.COMPLETE or met_goal else 1)


def _dry_run(ctx: Context, spec: TaskSpec, as_json: bool) -> None:
    info = preview(spec, ctx.project.step(spec.step))
    if as_json:
        print_json(info)
    else:
        Console().print(describe_space(spec, info))
        for line in info.get("notes", []):
            click.echo(line)


@task_group.command("run")
@click.argument("blueprint")
@click.option("--executor", default=None, help="local (default) or dask.")
@scheduler_option
@resources_option
@retries_option
@click.option("--seed", type=int, default=None, help="Seed for reproducible proposals.")
@click.option("--dry-run", is_flag=True, help="Print the space or grid and the count; run nothing.")
@click.option("--new", is_flag=True, help="Start a new task even if an unfinished one exists.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@json_option
@pass_settings
def task_run(
    settings: Settings,
    blueprint: str,
    executor: str | None,
    scheduler: str | None,
    resources: str | None,
    retries: int | None,
    seed: int | None,
    dry_run: bool,
    new: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """Run the task blueprint BLUEPRINT of valohai.yaml in the foreground.

    Running it again while an earlier run of the same blueprint is unfinished (after a crash)
    resumes that task instead of starting a new one.
    """
    executor, options = executor_options(executor, scheduler, resources, retries)
    ctx = settings.open(executor, **options)
    try:
        spec = spec_from_blueprint(ctx, blueprint, seed=seed)
        if dry_run:
            _dry_run(ctx, spec, as_json)
            return
        _drive(ctx, spec, new=new, as_json=as_json, quiet=quiet)
    finally:
        ctx.close()


def _parse_params(params: tuple[str, ...]) -> dict[str, tuple[str, dict[str, Any]]]:
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for item in params:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise ValidationError(
                f"{item!r} is not NAME=DISTRIBUTION (e.g. 'lr=loguniform(-5,-1)')", field="--param"
            )
        style, rules = parse_distribution(text)
        out[name.strip()] = (style, rules)
    return out


def _on_child_error(text: str | None) -> OnChildError:
    if text is None:
        return OnChildError.CONTINUE_AND_ERROR
    try:
        return OnChildError.parse(text)
    except ValueError as exc:
        raise ValidationError(str(exc), field="--on-child-error") from None


@task_group.command("create")
@click.argument("step")
@click.option(
    "--type",
    "task_type",
    default="bayesian_tpe",
    show_default=True,
    help="grid_search, random_search, manual_search or bayesian_tpe.",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=DIST",
    help="e.g. 'lr=loguniform(-5,-1)', 'units=integer(16,128,step=16)', "
    "'act=categorical(relu,tanh)', 'x=linear(0,1,0.1)', 'y=fixed(3)'.",
)
@click.option(
    "--parameter-set",
    "parameter_sets",
    multiple=True,
    metavar="JSON",
    help="manual_search: one JSON object per execution.",
)
@click.option("--execution-count", type=int, default=None)
@click.option("--batch-size", "--execution-batch-size", "batch_size", type=int, default=None)
@click.option("--max-queued", "--maximum-queued-executions", "max_queued", type=int, default=None)
@click.option("--metric", default=None, help="optimization-target-metric")
@click.option("--target", type=float, default=None, help="optimization-target-value")
@click.option(
    "--maximize/--minimize",
    "maximize",
    default=None,
    help="Direction when no target value is given (default: minimize).",
)
@click.option("--engine", default=None, help="auto (default: hyperstep's own), optuna or hyperopt.")
@click.option("--stop-condition", default=None, help="e.g. 'val_accuracy > 0.95'")
@click.option("--on-child-error", default=None)
@click.option("--seed", type=int, default=None)
@click.option("--name", default=None, help="A name for the task.")
@click.option("--executor", default=None)
@scheduler_option
@resources_option
@retries_option
@click.option("--print-blueprint", is_flag=True, help="Print the task as a '- task:' block.")
@click.option("--dry-run", is_flag=True)
@click.option("--quiet", "-q", is_flag=True)
@json_option
@pass_settings
def task_create(
    settings: Settings,
    step: str,
    task_type: str,
    params: tuple[str, ...],
    parameter_sets: tuple[str, ...],
    execution_count: int | None,
    batch_size: int | None,
    max_queued: int | None,
    metric: str | None,
    target: float | None,
    maximize: bool | None,
    engine: str | None,
    stop_condition: str | None,
    on_child_error: str | None,
    seed: int | None,
    name: str | None,
    executor: str | None,
    scheduler: str | None,
    resources: str | None,
    retries: int | None,
    print_blueprint: bool,
    dry_run: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """Create a task over STEP without a blueprint, and run it (or print it)."""
    executor, options = executor_options(executor, scheduler, resources, retries)
    ctx = settings.open(executor, **options)
    try:
        try:
            kind = TaskType.parse(task_type)
        except ValueError as exc:
            raise ValidationError(str(exc), field="--type") from None
        sets = []
        for i, text in enumerate(parameter_sets):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValidationError(f"not JSON: {exc}", field=f"--parameter-set[{i}]") from None
            if not isinstance(value, dict):
                raise ValidationError("must be a JSON object", field=f"--parameter-set[{i}]")
            sets.append(value)
        spec = TaskSpec(
            name=name or f"{step}-{kind.value}",
            step=step,
            type=kind,
            parameters=_parse_params(params),
            parameter_sets=sets or None,
            execution_count=execution_count,
            execution_batch_size=batch_size,
            maximum_queued_executions=max_queued,
            optimization_target_metric=metric,
            optimization_target_value=target,
            direction=None if maximize is None else ("maximize" if maximize else "minimize"),
            engine=engine,
            on_child_error=_on_child_error(on_child_error),
            stop_condition=stop_condition,
            seed=seed,
        )
        validate_task_spec(spec, ctx.project.step(step))
        if print_blueprint:
            click.echo(spec.to_blueprint_yaml(), nl=False)
            return
        if dry_run:
            _dry_run(ctx, spec, as_json)
            return
        task = create_task(ctx, spec)
        Console(stderr=True).print(f"Task !{task.counter} created.")
        _run_and_report(ctx, task, as_json=as_json, quiet=quiet)
    finally:
        ctx.close()


@task_group.command("resume")
@click.argument("counter", type=int)
@click.option("--executor", default=None)
@scheduler_option
@resources_option
@retries_option
@click.option("--quiet", "-q", is_flag=True)
@json_option
@pass_settings
def task_resume(
    settings: Settings,
    counter: int,
    executor: str | None,
    scheduler: str | None,
    resources: str | None,
    retries: int | None,
    quiet: bool,
    as_json: bool,
) -> None:
    """Resume task !COUNTER after a crash: adopt what still runs, continue the rest."""
    executor, options = executor_options(executor, scheduler, resources, retries)
    ctx = settings.open(executor, **options)
    try:
        task = ctx.store.get_task(counter=counter)
        if task.status.is_final:
            click.echo(f"Task !{counter} has already ended ({task.status.value}).", err=True)
        _run_and_report(ctx, task, as_json=as_json, quiet=quiet)
    finally:
        ctx.close()


@task_group.command("list")
@click.option("--status", default=None)
@click.option("--limit", type=int, default=50, show_default=True)
@json_option
@pass_settings
def task_list(settings: Settings, status: str | None, limit: int, as_json: bool) -> None:
    """List tasks, newest first."""
    ctx = settings.open()
    try:
        try:
            st = TaskStatus(status) if status else None
        except ValueError:
            raise ValidationError(f"unknown task status {status!r}", field="--status") from None
        tasks = ctx.store.list_tasks(status=st, limit=limit)
        if as_json:
            print_json([task_json(ctx, t, with_executions=False) for t in tasks])
            return
        table = Table(box=None)
        for col in ("!", "name", "type", "step", "status", "progress", "best", "created"):
            table.add_column(col)
        for t in tasks:
            data = task_json(ctx, t, with_executions=False)
            summary = data["status_summary"]
            done = sum(
                v
                for k, v in summary.items()
                if k in ("complete_count", "error_count", "crashed_count", "stopped_count")
            )
            best = data["best"]
            table.add_row(
                f"!{t.counter}",
                t.name or "",
                t.type.value,
                t.step,
                t.status.value,
                f"{done}/{summary.get('count', 0)}",
                f"{best['metric']}={fmt_value(best['value'])} (#{best['counter']})" if best else "",
                fmt_time(t.ctime),
            )
        Console().print(table)
    finally:
        ctx.close()


@task_group.command("show")
@click.argument("counter", type=int)
@json_option
@pass_settings
def task_show(settings: Settings, counter: int, as_json: bool) -> None:
    """Show task !COUNTER: configuration, status summary, best execution."""
    ctx = settings.open()
    try:
        task = ctx.store.get_task(counter=counter)
        data = task_json(ctx, task)
        if as_json:
            print_json(data)
            return
        console = Console()
        console.print(
            f"[bold]Task !{task.counter}[/bold] {task.name or ''} {task.type.value} "
            f"over {task.step!r}: [cyan]{task.status.value}[/cyan]",
            highlight=False,
        )
        if task.status_detail:
            console.print(task.status_detail, highlight=False, markup=False)
        for k, v in data["configuration"].items():
            console.print(f"  {k}: {v}", highlight=False, markup=False)
        counts = {k: v for k, v in data["status_summary"].items() if v}
        console.print(f"  executions: {counts}", highlight=False, markup=False)
        if data["best"]:
            console.print(best_table(ctx, task))
    finally:
        ctx.close()


@task_group.command("stop")
@click.argument("counter", type=int)
@json_option
@pass_settings
def task_stop(settings: Settings, counter: int, as_json: bool) -> None:
    """Stop task !COUNTER and its running executions."""
    ctx = settings.open()
    try:
        task = stop_task(ctx, counter)
        if as_json:
            print_json(task_json(ctx, task, with_executions=False))
        else:
            click.echo(f"Task !{counter}: {task.status.value}")
    finally:
        ctx.close()


@task_group.command("export")
@click.argument("counter", type=int)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@pass_settings
def task_export(settings: Settings, counter: int, fmt: str) -> None:
    """Export every execution of task !COUNTER with parameters and latest metadata."""
    ctx = settings.open()
    try:
        task = ctx.store.get_task(counter=counter)
        sys.stdout.write(export_task(ctx, task, fmt))
    finally:
        ctx.close()
