"""The files the runner shim keeps in an execution folder, and how to read and write them safely.

```
.hyperstep/executions/<counter>/
    lock         flock-ed (exclusive) by the shim for its whole life: held = the shim is alive
    pid.json     shim pid, child pid, process group, host, start time, boot id (written once)
    heartbeat    touched about every second while the shim lives
    stdout.log   the command's stdout, appended by the command itself
    stderr.log   the command's stderr
    stop.json    written by a stop request: the grace period the shim should use
    exit.json    the result, written atomically once every process of the group has ended
    shim.log     the shim's own diagnostics (normally empty)
```

The lock, not a pid, tells whether a shim is alive: a pid can be reused by an unrelated process
after a crash or a reboot, a lock dies with the process that holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path
from typing import Any

from hyperstep.executors.base import ChildInfo, ExitInfo

LOCK = "lock"
PID = "pid.json"
HEARTBEAT = "heartbeat"
STDOUT = "stdout.log"
STDERR = "stderr.log"
STOP = "stop.json"
EXIT = "exit.json"
SHIM_LOG = "shim.log"

#: exit statuses of the shim itself (besides the command's own status)
EXIT_USAGE = 64
EXIT_LOCKED = 75
EXIT_ALREADY_RAN = 76
EXIT_SPAWN_FAILED = 127


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` so that a reader sees either nothing or all of it, even after a power cut.

    The bytes go to a temporary name in the same folder, are fsync-ed, renamed over ``path``,
    and the folder itself is fsync-ed so that the rename is durable.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    payload = json.dumps(data, sort_keys=True).encode()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, payload)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or ``None`` when the file is missing or not (yet) an object."""
    try:
        data = json.loads(path.read_bytes())
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_child_info(exec_dir: Path) -> ChildInfo | None:
    data = read_json(exec_dir / PID)
    if data is None:
        return None
    try:
        return ChildInfo.from_json(data)
    except (KeyError, TypeError, ValueError):
        return None


def read_exit_info(exec_dir: Path) -> ExitInfo | None:
    data = read_json(exec_dir / EXIT)
    if data is None:
        return None
    try:
        return ExitInfo.from_json(data)
    except (KeyError, TypeError, ValueError):
        return None


def lock_held(exec_dir: Path) -> bool:
    """Whether a live process holds the shim lock of ``exec_dir``.

    Tested with a non-blocking shared lock that is dropped at once: it fails only while a shim
    holds its exclusive lock. A shim that starts during this instant retries its own lock, so the
    test never makes a launch fail. A missing lock file means no shim ever started there.
    """
    try:
        fd = os.open(exec_dir / LOCK, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def heartbeat_time(exec_dir: Path) -> float | None:
    """When the shim last touched its heartbeat (epoch seconds), or ``None``."""
    try:
        return (exec_dir / HEARTBEAT).stat().st_mtime
    except FileNotFoundError:
        return None
