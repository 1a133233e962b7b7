"""How the project's code reaches the workers: a content-addressed archive, unpacked once each.

The engine packs the project folder (minus ``.hyperstep/``, ``.git/``, virtual environments,
caches and the configured ``exclude`` patterns) into a deterministic ``tar.gz``: entries sorted,
owners and the gzip header time zeroed, so the same files always give the same bytes and the
same SHA-256. Dask carries the archive to each worker once (it is a scattered, content-hashed
piece of data that every run depends on), the worker unpacks it once into ``code/<sha>/``, and
each run gets its own ``repository/`` folder, as each Valohai execution gets a fresh checkout:
a program that writes into its working folder never changes what the next run sees. Small files
are copied; files over 1 MiB (data, weights, which programs read) are hard links, so a run does
not copy a large project.

The archive is rebuilt only when the project's files change (their paths, sizes and modification
times, checked at most every few seconds), so a task ships its code once.
"""

from __future__ import annotations

import contextlib
import fnmatch
import gzip
import hashlib
import io
import os
import shutil
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from hyperstep.errors import ValidationError

#: Folders never shipped: hyperstep's own state, version control, environments and caches.
ALWAYS_EXCLUDED = frozenset(
    {
        ".hyperstep",
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
        "node_modules",
        ".ipynb_checkpoints",
        "dask-scratch-space",
    }
)
DEFAULT_LIMIT = 256 << 20


@dataclass(frozen=True)
class Archive:
    sha: str
    data: bytes
    files: int


def _excluded(rel: str, name: str, is_dir: bool, patterns: Sequence[str]) -> bool:
    if is_dir and name in ALWAYS_EXCLUDED:
        return True
    for pattern in patterns:
        if pattern.endswith("/"):
            if is_dir and (
                fnmatch.fnmatch(name, pattern[:-1]) or fnmatch.fnmatch(rel, pattern[:-1])
            ):
                return True
        elif fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(name, pattern):
            return True
    return False


def project_files(root: Path, exclude: Sequence[str] = ()) -> Iterator[tuple[str, Path]]:
    """``(relative posix path, path)`` of every file or symlink to ship, in a stable order.

    A symlink is shipped as a link; one that points outside the project is refused, since the
    workers would not have its target.
    """
    root = root.resolve()
    for folder, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(folder)
        rel_base = base.relative_to(root).as_posix()
        keep: list[str] = []
        links: list[str] = []
        for name in sorted(dirnames):
            rel = name if rel_base == "." else f"{rel_base}/{name}"
            if _excluded(rel, name, True, exclude):
                continue
            (links if (base / name).is_symlink() else keep).append(name)
        dirnames[:] = keep
        for name in sorted([*filenames, *links]):
            rel = name if rel_base == "." else f"{rel_base}/{name}"
            path = base / name
            if _excluded(rel, name, path.is_dir() and not path.is_symlink(), exclude):
                continue
            if path.is_symlink():
                target = (base / os.readlink(path)).resolve()
                if target != root and root not in target.parents:
                    raise ValidationError(
                        f"{path} is a symbolic link to {target}, outside the project: the dask "
                        "executor ships the project as an archive; exclude it (executor.exclude "
                        "in hyperstep.toml) or use a shared folder (executor.code = 'shared')",
                        field="executor.code",
                    )
            elif not path.is_file():
                continue
            yield rel, path


def fingerprint(root: Path, exclude: Sequence[str] = ()) -> str:
    """A cheap identity of the project's files (paths, sizes, modification times)."""
    digest = hashlib.sha256()
    for rel, path in project_files(root, exclude):
        stat = path.lstat()
        digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_mode}\n".encode())
    return digest.hexdigest()


def build_archive(root: Path, exclude: Sequence[str] = (), limit: int = DEFAULT_LIMIT) -> Archive:
    """Pack the project deterministically; ValidationError when it exceeds ``limit`` bytes."""
    buffer = io.BytesIO()
    total = 0
    count = 0
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=1, mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for rel, path in project_files(root, exclude):
            info = tar.gettarinfo(str(path), arcname=rel)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = int(info.mtime)
            if info.isfile():
                total += info.size
                if total > limit:
                    raise ValidationError(
                        f"the project at {root} holds more than {_human(limit)} of files to "
                        "ship to the workers (the archive limit); exclude data and outputs "
                        "(executor.exclude in hyperstep.toml) or use a shared folder "
                        "(executor.code = 'shared')",
                        field="executor.exclude",
                    )
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
            count += 1
    data = buffer.getvalue()
    return Archive(sha=hashlib.sha256(data).hexdigest(), data=data, files=count)


def _human(size: int) -> str:
    if size >= 1 << 20:
        return f"{size / (1 << 20):g} MiB"
    if size >= 1 << 10:
        return f"{size / (1 << 10):g} KiB"
    return f"{size} bytes"


class ArchiveCache:
    """The current archive of each project root, rebuilt only when its files change."""

    def __init__(
        self, exclude: Sequence[str] = (), limit: int = DEFAULT_LIMIT, recheck: float = 5.0
    ) -> None:
        self.exclude = tuple(exclude)
        self.limit = limit
        self.recheck = recheck
        self._lock = threading.Lock()
        self._cache: dict[Path, tuple[str, float, Archive]] = {}

    def get(self, root: Path) -> Archive:
        root = root.resolve()
        with self._lock:
            cached = self._cache.get(root)
            now = time.monotonic()
            if cached is not None and now - cached[1] < self.recheck:
                return cached[2]
            mark = fingerprint(root, self.exclude)
            if cached is not None and cached[0] == mark:
                self._cache[root] = (mark, now, cached[2])
                return cached[2]
            archive = build_archive(root, self.exclude, self.limit)
            self._cache[root] = (mark, now, archive)
            return archive


# -- worker side ----------------------------------------------------------------------------

_UNPACK_LOCK = threading.Lock()


def unpack(code_root: Path, sha: str, data: bytes) -> Path:
    """The folder holding archive ``sha``, unpacked now if this worker has not done it yet.

    Unpacked into a temporary folder and renamed into place, so a run never sees half a tree.
    """
    target = code_root / sha
    if target.is_dir():
        return target
    with _UNPACK_LOCK:
        if target.is_dir():
            return target
        if hashlib.sha256(data).hexdigest() != sha:
            raise ValueError(f"the project archive does not match its SHA-256 {sha}")
        code_root.mkdir(parents=True, exist_ok=True)
        tmp = code_root / f".{sha}.{uuid.uuid4().hex[:8]}"
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(tmp, filter="data")
            else:  # pragma: no cover - Python without extraction filters
                tar.extractall(tmp)  # noqa: S202  # nosec B202 - the archive is made by the engine
        os.replace(tmp, target)
    return target


#: Files at least this big are hard-linked into a run's repository instead of copied.
LINK_THRESHOLD = 1 << 20


def _copy_or_link(src: str, dst: str) -> None:
    if os.path.getsize(src) >= LINK_THRESHOLD:
        try:
            os.link(src, dst)
            return
        except OSError:
            pass
    shutil.copy2(src, dst)


def copy_tree(source: Path, destination: Path) -> None:
    """A private copy of ``source`` at ``destination`` (large files hard-linked)."""
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(destination)
    shutil.copytree(source, destination, symlinks=True, copy_function=_copy_or_link)
