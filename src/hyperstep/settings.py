"""Project settings: ``hyperstep.toml`` beside ``valohai.yaml``.

```toml
[executor]
name = "dask"                     # local (default) or dask
scheduler = "tcp://10.0.0.5:8786"
resources = "slots=1"             # what each execution asks of a worker ("slots=1,GPU=1")
retries = 1                       # re-runs of an execution whose worker died
code = "archive"                  # archive (ship the project) or shared (a shared folder)
shared-root = "/mnt/projects/x"   # where the project is on the workers, with code = "shared"
exclude = ["data/", "*.ckpt"]     # project files not to ship
forward-env = ["WANDB_*"]         # engine environment variables passed to executions

[store]
url = "postgresql+psycopg://hyperstep@db.internal/hyperstep"
```

Precedence, highest first: command-line options, environment variables (``HYPERSTEP_EXECUTOR``,
``HYPERSTEP_DASK_SCHEDULER``, ``HYPERSTEP_STORE``), this file, then defaults; with the dask
executor and no scheduler anywhere, the project's local cluster (``hyperstep cluster up``).
Errors name the file and the line of the offending key.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hyperstep.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SETTINGS_FILE = "hyperstep.toml"
EXECUTORS = ("local", "dask")

#: executor keys -> (DaskExecutor keyword, accepted types, description for messages)
_EXECUTOR_KEYS: dict[str, tuple[str, tuple[type, ...], str]] = {
    "scheduler": ("scheduler", (str,), "a scheduler address like tcp://HOST:8786"),
    "resources": ("resources", (str, dict), "a string like 'slots=1' or a table"),
    "retries": ("retries", (int,), "a whole number, 0 or more"),
    "code": ("code", (str,), "'archive' or 'shared'"),
    "shared-root": ("shared_root", (str,), "a folder path"),
    "exclude": ("exclude", (list,), "a list of patterns"),
    "forward-env": ("forward_env", (list,), "a list of variable name patterns"),
    "grace": ("grace", (int, float), "seconds"),
    "interval": ("interval", (int, float), "seconds"),
    "connect-timeout": ("connect_timeout", (int, float), "seconds"),
}


@dataclass(frozen=True)
class ExecutorSettings:
    name: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProjectSettings:
    path: Path | None = None
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)
    store_url: str | None = None


def load_settings(root: Path) -> ProjectSettings:
    """Read ``<root>/hyperstep.toml``; defaults when there is none."""
    path = root / SETTINGS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ProjectSettings()
    except OSError as exc:
        raise ConfigError(f"cannot read it: {exc}", path=str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _error_line(str(exc))
        raise ConfigError(f"not valid TOML: {exc}", path=str(path), line=line) from None
    where = _Locator(path, text)
    unknown = set(data) - {"executor", "store"}
    if unknown:
        key = sorted(unknown)[0]
        raise where.error(
            None, key, f"unknown section or key {key!r} (expected [executor] or [store])"
        )
    return ProjectSettings(
        path=path,
        executor=_executor(data.get("executor", {}), where),
        store_url=_store(data.get("store", {}), where),
    )


def _executor(section: Any, where: _Locator) -> ExecutorSettings:
    if not isinstance(section, dict):
        raise where.error(None, "executor", "must be a table: [executor]")
    name: str | None = None
    options: dict[str, Any] = {}
    for key, value in section.items():
        if key == "name":
            if not isinstance(value, str) or value.lower() not in EXECUTORS:
                raise where.error("executor", key, f"{value!r}: expected one of {EXECUTORS}")
            name = value.lower()
            continue
        spec = _EXECUTOR_KEYS.get(key) or _EXECUTOR_KEYS.get(key.replace("_", "-"))
        if spec is None:
            allowed = ", ".join(["name", *_EXECUTOR_KEYS])
            raise where.error("executor", key, f"unknown setting (expected one of: {allowed})")
        keyword, types, description = spec
        if isinstance(value, bool) or not isinstance(value, types):
            raise where.error("executor", key, f"{value!r}: expected {description}")
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise where.error("executor", key, f"{value!r}: expected {description}")
        if keyword == "retries" and isinstance(value, int) and value < 0:
            raise where.error("executor", key, f"{value!r}: expected {description}")
        if keyword == "code" and value not in ("archive", "shared"):
            raise where.error("executor", key, f"{value!r}: expected {description}")
        options[keyword] = value
    return ExecutorSettings(name=name, options=options)


def _store(section: Any, where: _Locator) -> str | None:
    if not isinstance(section, dict):
        raise where.error(None, "store", "must be a table: [store]")
    for key in section:
        if key != "url":
            raise where.error("store", key, "unknown setting (expected url)")
    url = section.get("url")
    if url is not None and not isinstance(url, str):
        raise where.error("store", "url", f"{url!r}: expected a database URL")
    return url


def resolve_executor(
    root: Path,
    name: str | None = None,
    options: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The executor to make and its options: command line > environment > file > defaults.

    ``options`` are the command line's (``None`` values mean "not given").
    """
    env = os.environ if environ is None else environ
    settings = load_settings(root)
    chosen = (name or env.get("HYPERSTEP_EXECUTOR") or settings.executor.name or "local").lower()
    merged = dict(settings.executor.options)
    scheduler = env.get("HYPERSTEP_DASK_SCHEDULER")
    if scheduler:
        merged["scheduler"] = scheduler
    merged.update({k: v for k, v in (options or {}).items() if v is not None})
    if chosen == "dask" and not merged.get("scheduler"):
        from hyperstep.cluster import cluster_address

        address = cluster_address(root)
        if address:
            merged["scheduler"] = address
    return chosen, merged


def project_scheduler(root: Path) -> str | None:
    """The scheduler the project's settings name, else its local cluster's, if up."""
    scheduler = load_settings(root).executor.options.get("scheduler")
    if scheduler:
        return str(scheduler)
    from hyperstep.cluster import cluster_address

    return cluster_address(root)


def store_url(root: Path, given: str | None = None) -> str | None:
    """The store URL: the command line's, else ``$HYPERSTEP_STORE``, else the file's."""
    return given or os.environ.get("HYPERSTEP_STORE") or load_settings(root).store_url


class _Locator:
    """Finds the line of a key, so errors point at it (tomllib gives no positions)."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, section: str | None, key: str) -> int | None:
        current: str | None = None
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for number, line in enumerate(self.lines, start=1):
            header = re.match(r"^\s*\[\s*([^\]]+?)\s*\]", line)
            if header:
                current = header.group(1)
                if section is None and current == key:
                    return number
                continue
            if current == section and pattern.match(line):
                return number
        return None

    def error(self, section: str | None, key: str, message: str) -> ConfigError:
        field_name = f"{section}.{key}" if section else key
        return ConfigError(
            f"{field_name}: {message}", path=str(self.path), line=self.line_of(section, key)
        )


def _error_line(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None
