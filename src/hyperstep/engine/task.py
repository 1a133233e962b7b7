"""The task loop: propose, persist, launch, watch, stop, finish — and resume after any crash.

Rules that make ``kill -9`` of the engine harmless:

* a proposal is stored (unique ``(task, index)``) before its process starts, and a Bayesian
  batch is stored in one transaction, so a restart finds the same points instead of drawing
  new ones;
* the process runs in a runner shim that outlives the engine; a restarted engine adopts it, or
  reads the result it left in ``exit.json``;
* proposals are a pure function of (seed, index, finished history), so a Bayesian task resumed
  after a crash proposes what it would have proposed;
* a lease with a heartbeat in the store keeps a second engine from driving the same task.
"""

from __future__ import annotations

import math
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil

from hyperstep.engine.crashpoints import crash_point
from hyperstep.engine.plan import build_space, explicit_points
from hyperstep.engine.stopcond import StopCondition
from hyperstep.engine.supervisor import Finished, Live, Supervisor, utcnow
from hyperstep.errors import ConflictError
from hyperstep.model import ExecutionStatus as S
from hyperstep.model import OnChildError, TaskStatus, TaskType
from hyperstep.project import Project, build_command, resolve_values
from hyperstep.search import make_search
from hyperstep.search.objective import objective_value
from hyperstep.store import ExecutionRecord, Store, TaskRecord
from hyperstep.taskspec import DEFAULT_ENGINE, TaskSpec

#: Valohai seeds the Bayesian optimiser with this many random executions.
STARTUP = 20

EXEC_DIR_TEMPLATE = ".hyperstep/executions/{counter}"


def engine_owner() -> str:
    """A lease owner id that says who holds a task: host, pid, process start time, a nonce.

    The start time lets an engine on the same host tell a dead owner from a live one even when
    the pid has been reused, so a resume right after ``kill -9`` need not wait for the lease
    to expire.
    """
    created = int(psutil.Process().create_time() * 1000)
    return f"{socket.gethostname()}:{os.getpid()}:{created}:{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str) -> bool:
    """Whether a lease owner id names a process of this host that no longer runs."""
    parts = owner.split(":")
    if len(parts) != 4 or parts[0] != socket.gethostname():
        return False
    try:
        pid, created = int(parts[1]), int(parts[2])
    except ValueError:
        return False
    try:
        proc = psutil.Process(pid)
        return int(proc.create_time() * 1000) != created or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@dataclass
class Progress:
    """What a progress display needs, refreshed on every change."""

    total: int
    done: int = 0
    running: int = 0
    failed: int = 0
    best_value: float | None = None
    best_counter: int | None = None
    best_metric: Any = None
    started: float = field(default_factory=time.monotonic)
    note: str = ""


ProgressFn = Callable[[Progress], None]


class TaskRunner:
    """Drives one task to a final status, in the foreground of the calling process."""

    def __init__(
        self,
        store: Store,
        project: Project,
        supervisor: Supervisor,
        task: TaskRecord,
        *,
        owner: str | None = None,
        lease_ttl: float = 30.0,
        progress: ProgressFn | None = None,
        poll_interval: float = 0.05,
    ) -> None:
        self.store = store
        self.project = project
        self.sup = supervisor
        self.task = task
        self.spec = TaskSpec.from_json(task.spec)
        self.step = project.step(self.spec.step)
        self.owner = owner or engine_owner()
        self.lease_ttl = lease_ttl
        self.progress_fn = progress
        self.poll_interval = poll_interval
        self.stopping = False
        self.stop_reason: str | None = None
        self.child_failed = False
        self.stopped_by: int | None = None
        self._interrupts = 0
        self._last_lease = 0.0
        self._last_status_check = 0.0
        self._last_report = 0.0
        self._dirty = True
        self._detached = False
        self.next_index = 0
        self.cond = StopCondition(self.spec.stop_condition) if self.spec.stop_condition else None
        self._setup_search()

    # -- set-up ---------------------------------------------------------------------------

    def _setup_search(self) -> None:
        spec = self.spec
        seed = spec.seed if spec.seed is not None else (self.task.seed or 0)
        self.seed = int(seed)
        if spec.type in (TaskType.GRID_SEARCH, TaskType.MANUAL_SEARCH):
            points = explicit_points(spec, self.step)
            self.space = None
            kind = spec.type.value
            self.search = make_search(
                kind,
                _space_of_points(points),
                seed=self.seed,
                grid_points=points if spec.type is TaskType.GRID_SEARCH else None,
                parameter_sets=points if spec.type is TaskType.MANUAL_SEARCH else None,
            )
            self.total = len(points)
        else:
            self.space = build_space(spec, self.step)
            self.search = make_search(
                spec.type.value,
                self.space,
                engine=spec.engine or DEFAULT_ENGINE,
                seed=self.seed,
                startup=STARTUP,
                execution_count=int(spec.execution_count or 0),
            )
            # In a finite space a search never repeats a point, so it may run fewer.
            self.total = int(self.search.total or spec.execution_count or 0)
        batch = spec.execution_batch_size or (os.cpu_count() or 2)
        cap = batch
        if spec.maximum_queued_executions:
            cap = min(cap, spec.maximum_queued_executions)
        self.batch_size = max(1, int(batch))
        self.cap = max(1, int(cap))
        self.bayesian = spec.type is TaskType.BAYESIAN_TPE
        self.random_only = self.bayesian and self.total <= STARTUP

    # -- public ---------------------------------------------------------------------------

    def detach(self) -> None:
        """Leave the loop soon without stopping anything: the runs go on, the lease is freed.

        A server shutting down detaches; the next engine (or the restarted server) adopts the
        task's runs where they are.
        """
        self._detached = True

    def interrupt(self) -> None:
        """Ctrl-C: the first stops the task gracefully, the second kills at once."""
        self._interrupts += 1
        if self._interrupts == 1:
            self._begin_stop("interrupted by the user")
        else:
            self.sup.kill_now()

    def run(self) -> TaskRecord:
        if not self._acquire():
            info = self.store.lease_info(self.task.id)
            holder = info[0] if info else "another engine"
            raise ConflictError(
                f"task !{self.task.counter} is being driven by {holder}; "
                "not starting a second engine on it (wait for it, or stop it with "
                f"'hyperstep task stop {self.task.counter}')"
            )
        self._last_lease = time.monotonic()
        try:
            return self._run()
        finally:
            self.store.release_lease(self.task.id, self.owner)

    def _acquire(self) -> bool:
        if self.store.acquire_lease(self.task.id, self.owner, self.lease_ttl):
            return True
        info = self.store.lease_info(self.task.id)
        if info is not None and info[0] and owner_is_dead(info[0]):
            # The previous engine of this host died (kill -9, power loss): take over now.
            self.store.release_lease(self.task.id, info[0])
            return self.store.acquire_lease(self.task.id, self.owner, self.lease_ttl)
        return False

    # -- the loop -------------------------------------------------------------------------

    def _run(self) -> TaskRecord:
        task = self.store.get_task(id=self.task.id)
        if task.status.is_final:
            return task
        if task.status is TaskStatus.CREATED:
            detail = (
                f"{self.total} executions: fewer than {STARTUP}, so this Bayesian task runs "
                "as random search"
                if self.random_only
                else None
            )
            self.store.transition_task(
                task.id,
                [TaskStatus.CREATED],
                TaskStatus.STARTED,
                start_time=utcnow(),
                status_detail=detail,
            )
        elif task.status is TaskStatus.STOPPING:
            self._begin_stop(task.status_detail or "stopped on request")
        self.progress = Progress(total=self.total)
        self.progress.note = "random search (fewer than 20 executions)" if self.random_only else ""
        pending = self._reconcile()
        while True:
            if self._detached:
                return self.store.get_task(id=self.task.id)
            self._housekeeping()
            finished = self.sup.poll(self._on_event)
            for fin in finished:
                self._on_finished(fin)
            if not self.stopping:
                pending = self._schedule(pending)
            if not self.sup.live and (self.stopping or (not pending and self._all_proposed())):
                break
            self._report()
            self.sup.wait(self.poll_interval)
        return self._conclude(pending)

    def _reconcile(self) -> list[ExecutionRecord]:
        """Adopt what a previous engine left running; return stored proposals not yet started."""
        pending: list[ExecutionRecord] = []
        records = self._executions()
        self.next_index = 1 + max((r.task_index or 0 for r in records), default=-1)
        for record in records:
            if record.status is S.CREATED:
                pending.append(record)
            elif not record.status.is_final:
                result = self.sup.adopt(record)
                if isinstance(result, Finished):
                    self._on_finished(result)
        return pending

    def _executions(self) -> list[ExecutionRecord]:
        records = self.store.list_executions(task_id=self.task.id, limit=None, order="counter")
        return sorted(records, key=lambda r: r.task_index or 0)

    def _all_proposed(self) -> bool:
        return self.next_index >= self.total

    def _schedule(self, pending: list[ExecutionRecord]) -> list[ExecutionRecord]:
        while pending and len(self.sup.live) < self.cap:
            record = pending.pop(0)
            self.sup.launch(record, task_counter=self.task.counter)
        if pending or len(self.sup.live) >= self.cap:
            return pending
        if self.bayesian and not self.random_only:
            if self.sup.live:
                return pending  # synchronous batches: the next starts when this one has ended
            size = self.batch_size
        else:
            size = self.cap - len(self.sup.live)
        start = self.next_index
        stop = min(start + size, self.total)
        if start >= stop:
            return pending
        points = self._propose(start, stop)
        if not points:
            return pending
        items = []
        for offset, point in enumerate(points):
            values = resolve_values(self.step, point)
            items.append((start + offset, values, build_command(self.step, values)))
        records = self.store.create_task_executions(self.task.id, items, EXEC_DIR_TEMPLATE)
        self.next_index = start + len(points)
        if len(points) < stop - start:  # a finite space ran out of unseen points
            self.total = self.next_index
        crash_point("after_proposal_stored")
        pending.extend(r for r in records if r.status is S.CREATED)
        while pending and len(self.sup.live) < self.cap:
            self.sup.launch(pending.pop(0), task_counter=self.task.counter)
        return pending

    def _propose(self, start: int, stop: int) -> list[dict[str, Any]]:
        """Points for task indexes ``start..stop-1``: fixed lists, seeded draws, or the engine."""
        points: list[dict[str, Any]] = []
        model_from: int | None = None
        for index in range(start, stop):
            if self.bayesian and index >= STARTUP and not self.random_only:
                model_from = index
                break
            point = self.search.point(index)
            if point is None:
                break
            points.append(point)
        if model_from is not None:
            history = self._history()
            crash_point("during_optimizer_update")
            points.extend(self.search.propose(history, stop - model_from, pending=list(points)))
        return points

    def _history(self) -> list[tuple[dict[str, Any], float | None]]:
        history: list[tuple[dict[str, Any], float | None]] = []
        names = list(self.space.names) if self.space is not None else []
        for record in self._executions():
            if not record.status.is_final or record.status is S.STOPPED:
                continue
            params = {n: record.parameters.get(n) for n in names}
            history.append((params, self._objective(record)))
        return history

    def _objective(self, record: ExecutionRecord) -> float | None:
        if record.status is not S.COMPLETE or not self.spec.optimization_target_metric:
            return None
        metric = (record.cumulative_metadata or {}).get(self.spec.optimization_target_metric)
        return objective_value(
            metric,
            target=self.spec.optimization_target_value,
            direction=self.spec.direction,
        )

    # -- events ---------------------------------------------------------------------------

    def _on_event(self, live: Live, event: dict[str, Any]) -> None:
        if self.cond is None or self.stopping:
            return
        if self.cond.holds(
            live.cumulative,
            parameters=live.record.parameters,
            duration=self.sup.duration(live),
            counter=live.counter,
        ):
            self.stopped_by = live.counter
            self._begin_stop(
                f"stop condition met by #{live.counter}: {self.cond.expression}",
                stopped_by=live.counter,
            )

    def _on_finished(self, fin: Finished) -> None:
        self._dirty = True
        if fin.status in (S.ERROR, S.CRASHED):
            self.child_failed = True
            policy = OnChildError.parse(self.spec.on_child_error or "continue-and-error")
            if policy is OnChildError.STOP_ALL_AND_ERROR and not self.stopping:
                self._begin_stop(
                    f"execution #{fin.record.counter} failed ({fin.status.value}); "
                    "on-child-error is stop-all-and-error"
                )

    def _begin_stop(self, reason: str, *, stopped_by: int | None = None) -> None:
        if self.stopping:
            return
        self.stopping = True
        self.stop_reason = reason
        fields: dict[str, Any] = {"status_detail": reason}
        if stopped_by is not None:
            fields["stopped_by_execution"] = stopped_by
        if not self.store.transition_task(
            self.task.id, [TaskStatus.STARTED], TaskStatus.STOPPING, **fields
        ):
            self.store.update_task(self.task.id, **fields)
        self.sup.stop_all(reason=reason)

    def _housekeeping(self) -> None:
        now = time.monotonic()
        if now - self._last_lease > self.lease_ttl / 3:
            if not self.store.renew_lease(self.task.id, self.owner, self.lease_ttl):
                raise ConflictError(
                    f"lost the lease of task !{self.task.counter} to another engine; stopping "
                    "here without touching its executions"
                )
            self._last_lease = now
        if now - self._last_status_check > 0.5:
            self._last_status_check = now
            task = self.store.get_task(id=self.task.id)
            if task.status is TaskStatus.STOPPING and not self.stopping:
                self._begin_stop(task.status_detail or "stopped on request")
            self.sup.refresh_stop_requests()

    def _report(self, *, force: bool = False) -> None:
        if self.progress_fn is None:
            return
        now = time.monotonic()
        if not force and now - self._last_report < 0.25:
            return
        self._last_report = now
        prog = self.progress
        prog.running = len(self.sup.live)
        if self._dirty or force:
            # Re-read the task's executions only when one ended: on a task of thousands,
            # reading them all four times a second would cost more than the work itself.
            self._dirty = False
            records = self._executions()
            prog.done = sum(1 for r in records if r.status.is_final)
            prog.failed = sum(1 for r in records if r.status in (S.ERROR, S.CRASHED))
            best = self.best(records)
            if best is not None:
                prog.best_counter, prog.best_value, prog.best_metric = best
        self.progress_fn(prog)

    def best(self, records: list[ExecutionRecord] | None = None) -> tuple[int, float, Any] | None:
        found: tuple[int, float, Any] | None = None
        for record in records if records is not None else self._executions():
            value = self._objective(record)
            if value is None or math.isnan(value):
                continue
            if found is None or value < found[1]:
                metric = (record.cumulative_metadata or {}).get(
                    self.spec.optimization_target_metric or ""
                )
                found = (record.counter, value, metric)
        return found

    def _conclude(self, pending: list[ExecutionRecord]) -> TaskRecord:
        for record in pending:  # proposals never started because the task stopped
            self.store.transition(
                record.id,
                [S.CREATED],
                S.STOPPED,
                end_time=utcnow(),
                status_detail="the task stopped before this execution started",
            )
        if self.stopping and self.stop_reason and self.stop_reason.startswith("execution #"):
            final = TaskStatus.ERROR
        elif self.stopping:
            final = TaskStatus.STOPPED
        elif self.child_failed and (
            OnChildError.parse(self.spec.on_child_error or "continue-and-error")
            is not OnChildError.CONTINUE_AND_COMPLETE
        ):
            final = TaskStatus.ERROR
        else:
            final = TaskStatus.COMPLETE
        fields: dict[str, Any] = {"end_time": utcnow()}
        if final is TaskStatus.ERROR and not self.stopping:
            fields["status_detail"] = "some executions failed (on-child-error: continue-and-error)"
        self.store.transition_task(
            self.task.id, [TaskStatus.STARTED, TaskStatus.STOPPING], final, **fields
        )
        self._report(force=True)
        return self.store.get_task(id=self.task.id)


def _space_of_points(points: list[dict[str, Any]]) -> Any:
    from hyperstep.engine.plan import fixed_space

    return fixed_space(points)
