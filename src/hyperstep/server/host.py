"""The engine inside the server: every task runs in a background thread of the server process.

Each task is driven by the same :func:`hyperstep.service.run_task` the CLI uses, so a task
behaves the same whether it was started from a terminal or from the dashboard. The lease logic
of the task runner does the hard part: when the server starts it resumes every unfinished task
(taking over the lease of a server that was killed), and it keeps watching for tasks whose
engine died (a ``hyperstep task run`` killed with ``kill -9``) to adopt them too.

Shutting the server down *detaches* from the tasks instead of stopping them: the runners leave
their loops and release their leases, the executions go on in their runner shims, and the next
``hyperstep serve`` (or ``hyperstep task resume``) picks them up where they are.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from hyperstep import service
from hyperstep.engine.task import Progress, owner_is_dead
from hyperstep.errors import ConflictError, HyperstepError
from hyperstep.model import TaskStatus
from hyperstep.service import Context
from hyperstep.store import ExecutionRecord, TaskRecord

log = logging.getLogger("hyperstep.server")

#: Statuses of a task that some engine still has to drive.
UNFINISHED = (TaskStatus.CREATED, TaskStatus.STARTED, TaskStatus.STOPPING)


class Detached(Exception):
    """Raised from the progress callback to leave a runner's loop without stopping the task.

    ``TaskRunner.run`` releases the lease on the way out; the executions keep running.
    """


@dataclass
class _Backoff:
    failures: int = 0
    next_try: float = 0.0


class EngineHost:
    """Drives tasks (and executions started from the API) in threads of this process.

    Args:
        ctx: the server's context (project, store, executor), shared by every thread.
        scan_interval: how often to look for unfinished tasks nobody drives.
        poll_interval: the task runners' loop period.
        stop_grace: seconds between SIGTERM and SIGKILL when an execution is stopped.
    """

    def __init__(
        self,
        ctx: Context,
        *,
        scan_interval: float = 5.0,
        poll_interval: float = 0.1,
        stop_grace: float = 10.0,
    ) -> None:
        self.ctx = ctx
        self.scan_interval = scan_interval
        self.poll_interval = poll_interval
        self.stop_grace = stop_grace
        self._lock = threading.Lock()
        self._threads: dict[str, threading.Thread] = {}
        self._executions: dict[str, threading.Thread] = {}
        self._backoff: dict[str, _Backoff] = {}
        self._closing = threading.Event()
        self._scanner: threading.Thread | None = None

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> list[TaskRecord]:
        """Resume every unfinished task, then keep watching for orphans; returns the resumed."""
        resumed = [task for task in self._unfinished() if self.drive(task)]
        self._scanner = threading.Thread(
            target=self._scan_loop, name="hyperstep-scanner", daemon=True
        )
        self._scanner.start()
        return resumed

    def close(self, timeout: float = 10.0) -> None:
        """Detach from every task (they go on after a restart) and wait for the threads."""
        self._closing.set()
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads.values())
        if self._scanner is not None:
            threads.append(self._scanner)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    @property
    def closing(self) -> bool:
        return self._closing.is_set()

    def driving(self) -> list[str]:
        """Ids of the tasks a thread of this host drives now."""
        with self._lock:
            return [task_id for task_id, t in self._threads.items() if t.is_alive()]

    # -- tasks ------------------------------------------------------------------------------

    def drive(self, task: TaskRecord) -> bool:
        """Start driving ``task`` in a thread; False when it is final or already driven here."""
        if task.status.is_final or self._closing.is_set():
            return False
        with self._lock:
            current = self._threads.get(task.id)
            if current is not None and current.is_alive():
                return False
            thread = threading.Thread(
                target=self._drive,
                args=(task.id,),
                name=f"hyperstep-task-{task.counter}",
                daemon=True,
            )
            self._threads[task.id] = thread
        thread.start()
        return True

    def _drive(self, task_id: str) -> None:
        try:
            task = self.ctx.store.get_task(id=task_id)
            if task.status.is_final:
                return
            final = service.run_task(
                self.ctx,
                task,
                progress=self._progress,
                handle_sigint=False,
                stop_grace=self.stop_grace,
                poll_interval=self.poll_interval,
            )
            log.info("task !%s ended: %s", final.counter, final.status.value)
            self._backoff.pop(task_id, None)
        except Detached:
            log.info("detached from task %s; it goes on after a restart", task_id)
        except ConflictError as exc:  # another live engine drives it: leave it alone
            log.info("not driving task %s: %s", task_id, exc)
            self._note_failure(task_id)
        except HyperstepError as exc:
            log.error("task %s could not go on: %s", task_id, exc)
            self._note_failure(task_id)
        except Exception:
            log.exception("task %s: unexpected error in its engine", task_id)
            self._note_failure(task_id)
        finally:
            with self._lock:
                if self._threads.get(task_id) is threading.current_thread():
                    del self._threads[task_id]

    def _progress(self, _progress: Progress) -> None:
        if self._closing.is_set():
            raise Detached()

    def _note_failure(self, task_id: str) -> None:
        entry = self._backoff.setdefault(task_id, _Backoff())
        entry.failures += 1
        entry.next_try = time.monotonic() + min(300.0, 5.0 * 2 ** min(entry.failures, 6))

    # -- orphans ----------------------------------------------------------------------------

    def _unfinished(self) -> list[TaskRecord]:
        return self.ctx.store.list_tasks(status=list(UNFINISHED), limit=None)

    def _scan_loop(self) -> None:
        while not self._closing.wait(self.scan_interval):
            try:
                self.adopt_orphans()
            except Exception:
                log.exception("looking for tasks without an engine failed")

    def adopt_orphans(self) -> list[TaskRecord]:
        """Drive started or stopping tasks whose engine is gone (its lease expired or dead).

        A ``created`` task is left alone: the ``hyperstep task run`` that created it is about to
        take its lease.
        """
        adopted = []
        now = time.monotonic()
        driven = set(self.driving())
        for task in self.ctx.store.list_tasks(
            status=[TaskStatus.STARTED, TaskStatus.STOPPING], limit=None
        ):
            if task.id in driven:
                continue
            backoff = self._backoff.get(task.id)
            if backoff is not None and backoff.next_try > now:
                continue
            lease = self.ctx.store.lease_info(task.id)
            if lease is not None and not owner_is_dead(lease[0]):
                continue
            if self.drive(task):
                adopted.append(task)
        return adopted

    # -- single executions ------------------------------------------------------------------

    def run_execution(self, record: ExecutionRecord) -> None:
        """Run one stored execution (``POST /executions/``) in a thread until it ends."""
        thread = threading.Thread(
            target=self._run_execution,
            args=(record,),
            name=f"hyperstep-execution-{record.counter}",
            daemon=True,
        )
        with self._lock:
            self._executions[record.id] = thread
        thread.start()

    def _run_execution(self, record: ExecutionRecord) -> None:
        try:
            service.run_execution(
                self.ctx,
                record,
                handle_sigint=False,
                stop_grace=self.stop_grace,
                poll_interval=self.poll_interval,
            )
        except Exception:
            log.exception("execution #%s: unexpected error while running it", record.counter)
        finally:
            with self._lock:
                self._executions.pop(record.id, None)
