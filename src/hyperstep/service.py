"""The operations shared by the CLI and the REST API, so the two never disagree.

Each function takes a :class:`Context` (the project, the store and the executor) and returns
store records or plain JSON-able dicts in the shapes Valohai's API uses.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hyperstep import settings
from hyperstep.engine.supervisor import EchoFn, Supervisor
from hyperstep.engine.task import EXEC_DIR_TEMPLATE, ProgressFn, TaskRunner
from hyperstep.errors import ConflictError, NotFoundError, ValidationError
from hyperstep.executors.base import Executor
from hyperstep.model import ExecutionStatus as S
from hyperstep.model import TaskStatus, TaskType
from hyperstep.project import Project, blueprint_spec, build_command, load_project, resolve_values
from hyperstep.project.commands import check_template
from hyperstep.store import ExecutionRecord, Store, TaskRecord
from hyperstep.taskspec import TaskSpec, validate_task_spec


@dataclass
class Context:
    """Everything an operation needs; open it once per command or server."""

    project: Project
    store: Store
    executor: Executor

    def supervisor(
        self,
        *,
        echo: EchoFn | None = None,
        stop_grace: float = 10.0,
        executor: Executor | None = None,
    ) -> Supervisor:
        return Supervisor(
            self.store,
            self.project.root,
            executor or self.executor,
            echo=echo,
            stop_grace=stop_grace,
            time_limits=self.time_limits(),
        )

    def time_limits(self) -> dict[str, float]:
        """Each step's ``time-limit`` in seconds (steps without one are not limited)."""
        limits: dict[str, float] = {}
        for name, step in self.project.steps.items():
            limit = getattr(step.vh, "time_limit", None)
            if limit is not None and limit.total_seconds() > 0:
                limits[name] = float(limit.total_seconds())
        return limits

    def executor_for_task(self, task: TaskRecord) -> Executor:
        """The executor of a task's unfinished runs, so a resume or a stop reaches them.

        A task started on a Dask cluster and resumed without ``--executor dask`` must still
        adopt its runs through the cluster, not declare them lost.
        """
        for record in self.store.list_executions(task_id=task.id, limit=None):
            if not record.status.is_final and record.runner_ref:
                return self.executor_for(record.runner_ref)
        return self.executor

    def close(self) -> None:
        self.executor.close()
        self.store.close()

    def executor_for(self, ref: Mapping[str, Any]) -> Executor:
        """The executor that can reach a stored run: the context's, or one made from the ref.

        ``exec stop`` and ``task stop`` open a context with the default executor; a run started
        on a Dask cluster must still be stopped through that cluster.
        """
        kind = ref.get("kind")
        if kind is None or kind == getattr(self.executor, "kind", None):
            return self.executor
        options: dict[str, Any] = {}
        if kind == "dask" and ref.get("scheduler"):
            options["scheduler"] = ref["scheduler"]
        return make_executor(str(kind), **options)


def make_executor(name: str | None = None, **options: Any) -> Executor:
    """The executor named by ``--executor`` or ``HYPERSTEP_EXECUTOR`` (default ``local``)."""
    name = (name or os.environ.get("HYPERSTEP_EXECUTOR") or "local").lower()
    if name == "local":
        from hyperstep.executors.local import LocalExecutor

        local = LocalExecutor(wait_started=False)
        # Runs lost by the local runner (its shim SIGKILLed) are retried only when asked.
        local.retries = int(options.get("retries") or 0)  # type: ignore[attr-defined]
        return local
    if name == "dask":
        try:
            from hyperstep.executors.dask import DaskExecutor
        except ImportError as exc:
            raise ValidationError(
                f"the dask executor is not available ({exc}); install hyperstep[dask]",
                field="executor",
            ) from None
        return DaskExecutor(**options)
    raise ValidationError(f"unknown executor {name!r} (expected local or dask)", field="executor")


def open_context(
    project_dir: str | Path | None = None,
    *,
    store_url: str | None = None,
    executor: str | None = None,
    config: str = "valohai.yaml",
    **executor_options: Any,
) -> Context:
    """Load the project, open (and migrate) the store, make the executor."""
    root = Path(project_dir or os.getcwd()).resolve()
    project = load_project(root, config)
    # Command line > environment > hyperstep.toml > defaults, for the store and the executor.
    name, options = settings.resolve_executor(root, executor, executor_options)
    if name == "dask":
        options.setdefault("config", config)
    store = Store.open(settings.store_url(root, store_url), root)
    try:
        chosen = make_executor(name, **options)
    except BaseException:
        store.close()
        raise
    return Context(project=project, store=store, executor=chosen)


@contextmanager
def context(*args: Any, **kwargs: Any) -> Iterator[Context]:
    ctx = open_context(*args, **kwargs)
    try:
        yield ctx
    finally:
        ctx.close()


# -- executions -------------------------------------------------------------------------------


def create_execution(ctx: Context, step_name: str, given: Mapping[str, Any]) -> ExecutionRecord:
    """Validate the values and store a ``created`` execution; nothing runs yet."""
    step = ctx.project.step(step_name)
    check_template(step, ctx.project)
    values = resolve_values(step, given)
    command = build_command(step, values)
    return ctx.store.create_execution(
        step=step.name, parameters=values, command=command, exec_dir_template=EXEC_DIR_TEMPLATE
    )


def run_execution(
    ctx: Context,
    record: ExecutionRecord,
    *,
    echo: EchoFn | None = None,
    poll_interval: float = 0.05,
    stop_grace: float = 10.0,
    handle_sigint: bool = True,
) -> ExecutionRecord:
    """Run one stored execution in the foreground until it ends; Ctrl-C stops it."""
    sup = ctx.supervisor(echo=echo, stop_grace=stop_grace)
    interrupts = 0

    def on_sigint(_sig: int, _frame: Any) -> None:
        nonlocal interrupts
        interrupts += 1

    previous = signal.signal(signal.SIGINT, on_sigint) if handle_sigint else None
    try:
        live = sup.launch(record)
        handled = 0
        while live is not None and sup.live:
            if interrupts > handled:
                handled = interrupts
                if handled == 1:
                    sup.stop_all(reason="interrupted by the user")
                else:
                    sup.kill_now()
            sup.refresh_stop_requests()
            sup.poll()
            if sup.live:
                sup.wait(poll_interval)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    return ctx.store.get_execution(id=record.id)


def stop_execution(ctx: Context, counter: int) -> ExecutionRecord:
    """Ask the engine watching an execution to stop it, and signal its process group now."""
    record = ctx.store.get_execution(counter=counter)
    if record.status.is_final:
        raise ConflictError(f"execution #{counter} has already ended ({record.status.value})")
    if record.status is S.CREATED:
        ctx.store.transition(
            record.id,
            [S.CREATED],
            S.STOPPED,
            end_time=time.time(),
            status_detail="stopped on request",
        )
    else:
        ctx.store.transition(
            record.id, [S.QUEUED, S.STARTED], S.STOPPING, status_detail="stopped on request"
        )
    if record.runner_ref:
        ctx.executor_for(record.runner_ref).stop(record.runner_ref, grace=10.0)
    return ctx.store.get_execution(id=record.id)


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="microseconds")


def execution_json(record: ExecutionRecord) -> dict[str, Any]:
    """The Valohai execution object shape (the fields hyperstep knows)."""
    return {
        "id": record.id,
        "counter": record.counter,
        "title": None,
        "status": record.status.value,
        "status_detail": record.status_detail,
        "step": record.step,
        "parameters": record.parameters,
        "cumulative_metadata": record.cumulative_metadata,
        "command": record.command,
        "interpolated_command": record.command,
        "exit_code": record.exit_code,
        "duration": record.duration,
        "ctime": _iso(record.ctime),
        "start_time": _iso(record.start_time),
        "end_time": _iso(record.end_time),
        "task": record.task_id,
        "task_counter": record.task_counter,
        "task_index": record.task_index,
        "attempt": record.attempt,
        "pid": record.pid,
        "host": record.host,
        "exec_dir": record.exec_dir,
        "urls": {
            "display": f"/executions/{record.counter}",
            "stop": f"/api/v0/executions/{record.id}/stop/",
        },
    }


# -- tasks ------------------------------------------------------------------------------------


def spec_from_blueprint(ctx: Context, name: str, **overrides: Any) -> TaskSpec:
    spec = blueprint_spec(
        ctx.project, name, **{k: v for k, v in overrides.items() if v is not None}
    )
    validate_task_spec(spec, ctx.project.step(spec.step))
    return spec


#: Grids and manual searches up to this size have every point checked before the task exists.
_CHECK_POINTS = 100_000


def create_task(ctx: Context, spec: TaskSpec) -> TaskRecord:
    """Validate a spec fully and store the task (``created``); nothing runs yet.

    For grids and manual searches every point is resolved against the step first, so a bad
    value (a NUL byte in a parameter set, say) is refused here instead of leaving a task that
    fails on every resume.
    """
    step = ctx.project.step(spec.step)
    validate_task_spec(spec, step)
    if spec.type in (TaskType.GRID_SEARCH, TaskType.MANUAL_SEARCH):
        from hyperstep.engine.plan import explicit_points

        check_template(step, ctx.project)
        for index, point in enumerate(explicit_points(spec, step)):
            if index >= _CHECK_POINTS:
                break
            try:
                resolve_values(step, point)
            except ValidationError as exc:
                where = "parameter-sets" if spec.parameter_sets else "parameters"
                raise ValidationError(f"{where}[{index}]: {exc}", field=exc.field) from None
    else:
        check_template(step, ctx.project)
    return ctx.store.create_task(
        name=spec.name,
        step=spec.step,
        type=spec.type,
        spec=spec.to_json(),
        seed=spec.seed,
    )


def find_unfinished(ctx: Context, spec: TaskSpec) -> TaskRecord | None:
    """An unfinished task of the same blueprint and spec, which ``task run`` resumes."""
    if not spec.name:
        return None
    wanted = spec.to_json()
    for status in (TaskStatus.STARTED, TaskStatus.CREATED, TaskStatus.STOPPING):
        for task in ctx.store.list_tasks(status=status, limit=1000):
            if task.name == spec.name and task.spec == wanted:
                return task
    return None


def run_task(
    ctx: Context,
    task: TaskRecord,
    *,
    progress: ProgressFn | None = None,
    echo: EchoFn | None = None,
    handle_sigint: bool = True,
    stop_grace: float = 10.0,
    poll_interval: float = 0.05,
) -> TaskRecord:
    """Drive a task to its end in the foreground (also resumes an unfinished one)."""
    runner = TaskRunner(
        ctx.store,
        ctx.project,
        ctx.supervisor(echo=echo, stop_grace=stop_grace, executor=ctx.executor_for_task(task)),
        task,
        progress=progress,
        poll_interval=poll_interval,
    )

    def on_sigint(_sig: int, _frame: Any) -> None:
        runner.interrupt()

    previous = signal.signal(signal.SIGINT, on_sigint) if handle_sigint else None
    try:
        return runner.run()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def get_task(ctx: Context, counter: int) -> TaskRecord:
    return ctx.store.get_task(counter=counter)


def stop_task(ctx: Context, counter: int) -> TaskRecord:
    """Stop a task: the engine driving it notices; with no engine alive, stop it here."""
    task = ctx.store.get_task(counter=counter)
    if task.status.is_final:
        raise ConflictError(f"task !{counter} has already ended ({task.status.value})")
    ctx.store.transition_task(
        task.id,
        [TaskStatus.CREATED, TaskStatus.STARTED],
        TaskStatus.STOPPING,
        status_detail="stopped on request",
    )
    lease = ctx.store.lease_info(task.id)
    if lease is None or lease[1] is None or lease[1] < time.time():
        # Nobody drives it: stop its processes and finish it from here.
        for record in ctx.store.list_executions(task_id=task.id, limit=None):
            if record.status.is_final:
                continue
            if record.status is S.CREATED:
                ctx.store.transition(
                    record.id,
                    [S.CREATED],
                    S.STOPPED,
                    end_time=time.time(),
                    status_detail="the task stopped before this execution started",
                )
                continue
            if record.runner_ref:
                ctx.executor_for(record.runner_ref).stop(record.runner_ref, grace=5.0)
            ctx.store.transition(
                record.id, [S.QUEUED, S.STARTED], S.STOPPING, status_detail="stopped on request"
            )
        sup = ctx.supervisor(stop_grace=5.0, executor=ctx.executor_for_task(task))
        runner = TaskRunner(ctx.store, ctx.project, sup, task)
        runner.run()
    return ctx.store.get_task(id=task.id)


def objective_of(spec: TaskSpec, record: ExecutionRecord) -> float | None:
    from hyperstep.search.objective import objective_value

    if record.status is not S.COMPLETE or not spec.optimization_target_metric:
        return None
    return objective_value(
        record.cumulative_metadata.get(spec.optimization_target_metric),
        target=spec.optimization_target_value,
        direction=spec.direction,
    )


def ranked_executions(
    ctx: Context, task: TaskRecord, *, records: list[ExecutionRecord] | None = None
) -> list[tuple[ExecutionRecord, float]]:
    """Complete executions with their objective, best first."""
    spec = TaskSpec.from_json(task.spec)
    rows = []
    if records is None:
        records = ctx.store.list_executions(task_id=task.id, limit=None)
    for record in records:
        value = objective_of(spec, record)
        if value is not None and value == value:
            rows.append((record, value))
    rows.sort(key=lambda rv: (rv[1], rv[0].counter))
    return rows


def task_json(
    ctx: Context,
    task: TaskRecord,
    *,
    with_executions: bool = True,
    records: list[ExecutionRecord] | None = None,
) -> dict[str, Any]:
    """The Valohai task object shape, plus ``best`` and the execution counters.

    ``records`` (the task's executions, when the caller has them) saves reading them again.
    """
    spec = TaskSpec.from_json(task.spec)
    if records is None:
        records = ctx.store.list_executions(task_id=task.id, limit=None)
    configuration = {
        "execution_count": spec.execution_count,
        "execution_batch_size": spec.execution_batch_size,
        "maximum_queued_executions": spec.maximum_queued_executions,
        "engine": spec.engine,
        "optimization_target_metric": spec.optimization_target_metric,
        "optimization_target_value": spec.optimization_target_value,
        "direction": spec.direction,
        "on_child_error": getattr(spec.on_child_error, "value", spec.on_child_error),
        "stop_condition": spec.stop_condition,
        "seed": spec.seed,
    }
    data: dict[str, Any] = {
        "id": task.id,
        "counter": task.counter,
        "name": task.name,
        "title": task.name,
        "step": task.step,
        "type": task.type.value,
        "status": task.status.value,
        "status_detail": task.status_detail,
        "stopped_by_execution": task.stopped_by_execution,
        "ctime": _iso(task.ctime),
        "start_time": _iso(task.start_time),
        "end_time": _iso(task.end_time),
        "configuration": {k: v for k, v in configuration.items() if v is not None},
        "parameters": spec.to_json().get("parameters"),
        "status_summary": ctx.store.task_status_summary(task.id),
        "urls": {
            "display": f"/tasks/{task.counter}",
            "stop": f"/api/v0/tasks/{task.id}/stop/",
            "executions": f"/api/v0/executions/?task={task.id}",
        },
    }
    ranked = ranked_executions(ctx, task, records=records)
    if ranked:
        best, value = ranked[0]
        data["best"] = {
            "counter": best.counter,
            "parameters": best.parameters,
            "metric": spec.optimization_target_metric,
            "value": best.cumulative_metadata.get(spec.optimization_target_metric or ""),
            "objective": value,
        }
    else:
        data["best"] = None
    if with_executions:
        data["executions"] = [r.counter for r in sorted(records, key=lambda r: r.counter)]
    return data


def export_task(ctx: Context, task: TaskRecord, fmt: str) -> str:
    """Every execution of a task with its parameters and latest metadata, as CSV or JSON."""
    records = ctx.store.list_executions(task_id=task.id, limit=None)
    if fmt == "json":
        return json.dumps([execution_json(r) for r in records], indent=2, default=str)
    if fmt != "csv":
        raise ValidationError(f"unknown format {fmt!r} (expected csv or json)", field="format")
    params = sorted({k for r in records for k in r.parameters})
    metrics = sorted({k for r in records for k in r.cumulative_metadata if not k.startswith("_")})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["counter", "status", "duration", *params, *metrics])
    for r in records:
        writer.writerow(
            [
                r.counter,
                r.status.value,
                "" if r.duration is None else f"{r.duration:.3f}",
                *[_csv_cell(r.parameters.get(p)) for p in params],
                *[_csv_cell(r.cumulative_metadata.get(m)) for m in metrics],
            ]
        )
    return out.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    text = str(value)
    # Spreadsheet formula injection: a cell a program printed must not run as a formula.
    if text[:1] in ("=", "+", "-", "@") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def require(value: Any, message: str) -> Any:
    if value is None:
        raise NotFoundError(message)
    return value


CancelFn = Callable[[], bool]
