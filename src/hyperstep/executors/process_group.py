"""Process-group helpers: signal a whole execution, tell whether any of it is still alive.

An execution runs in its own process group (its leader is the ``/bin/sh`` started by the shim),
so one ``killpg`` reaches the command and everything it started, grandchildren included, unless
they deliberately left the group. Pids and group ids can be reused, so whoever signals a group
that it did not just create first checks it is still the same one (boot id + creation time).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
from pathlib import Path

import psutil

from hyperstep.executors.base import ChildInfo

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
_PR_SET_CHILD_SUBREAPER = 36
#: creation times read at different moments may differ by a clock tick
_CREATE_TIME_TOLERANCE = 0.1


def boot_id() -> str | None:
    """This boot's identity (Linux), so that records from before a reboot are recognised."""
    try:
        return _BOOT_ID.read_text().strip() or None
    except OSError:
        return None


def create_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def same_process(pid: int, expected_create_time: float | None) -> bool:
    """Whether ``pid`` is alive and is the process that was created at ``expected_create_time``."""
    actual = create_time(pid)
    if actual is None:
        return False
    if expected_create_time is None:
        return True
    return abs(actual - expected_create_time) < _CREATE_TIME_TOLERANCE


def group_members(pgid: int) -> list[int]:
    """Pids of the live (non-zombie) processes of group ``pgid``.

    Zombies are left out: they are dead and cannot be signalled, and in a container whose
    pid 1 does not reap orphans they would otherwise make a group look alive forever.
    """
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return []
    except PermissionError:
        pass
    members = []
    for pid in psutil.pids():
        try:
            if os.getpgid(pid) != pgid:
                continue
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                members.append(pid)
        except (OSError, psutil.Error):
            continue
    return members


def group_alive(pgid: int) -> bool:
    return bool(group_members(pgid))


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to every process of group ``pgid``; ``False`` when the group is gone."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


def owns_group(info: ChildInfo) -> bool:
    """Whether the group recorded in ``info`` may still be signalled as this execution's.

    False after a reboot (other boot id) or when the group's id now belongs to another process
    (the leader's pid is alive with another creation time). A group whose leader has exited but
    whose members live on is still ours: Linux does not hand out a group's id while the group has
    members.
    """
    if info.boot_id is not None and info.boot_id != boot_id():
        return False
    leader_time = create_time(info.pgid)
    if leader_time is None or info.child_create_time is None:
        return True
    return abs(leader_time - info.child_create_time) < _CREATE_TIME_TOLERANCE


def kill_recorded_group(info: ChildInfo, sig: int = signal.SIGKILL) -> bool:
    """Signal the group recorded in ``info`` if it is still the execution's; ``True`` if sent."""
    if not owns_group(info):
        return False
    return signal_group(info.pgid, sig)


def become_subreaper() -> bool:
    """Make orphaned descendants re-parent to this process (Linux ``PR_SET_CHILD_SUBREAPER``).

    The shim then reaps the grandchildren of its command itself: no zombies pile up when pid 1
    is not an init that reaps, and the shim sees every descendant that is still alive.
    """
    if not sys.platform.startswith("linux"):
        return False
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    return False
