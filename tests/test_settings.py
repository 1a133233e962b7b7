"""``hyperstep.toml``: what it may say, the errors it gets (file and line), and precedence."""

from __future__ import annotations

import json
import os
from pathlib import Path

import psutil
import pytest

from hyperstep.errors import ConfigError
from hyperstep.settings import load_settings, project_scheduler, resolve_executor, store_url

FULL = """
[executor]
name = "dask"
scheduler = "tcp://10.0.0.5:8786"
resources = "slots=1,GPU=1"
retries = 2
code = "shared"
shared-root = "/mnt/x"
exclude = ["data/", "*.ckpt"]
forward-env = ["WANDB_*"]

[store]
url = "postgresql+psycopg://h@db/x"
"""


def write(root: Path, text: str) -> Path:
    path = root / "hyperstep.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_means_defaults(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert settings.path is None and settings.executor.name is None
    assert settings.executor.options == {} and settings.store_url is None
    assert resolve_executor(tmp_path, environ={}) == ("local", {})


def test_every_setting_is_read(tmp_path: Path) -> None:
    write(tmp_path, FULL)
    settings = load_settings(tmp_path)
    assert settings.executor.name == "dask"
    assert settings.executor.options == {
        "scheduler": "tcp://10.0.0.5:8786",
        "resources": "slots=1,GPU=1",
        "retries": 2,
        "code": "shared",
        "shared_root": "/mnt/x",
        "exclude": ["data/", "*.ckpt"],
        "forward_env": ["WANDB_*"],
    }
    assert settings.store_url == "postgresql+psycopg://h@db/x"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("[executor]\nname = 'dask'\nschedulr = 'x'\n", 3, "executor.schedulr: unknown setting"),
        ("[executor]\nretries = 'two'\n", 2, "executor.retries: 'two': expected a whole number"),
        ("[executor]\n\nretries = -1\n", 3, "expected a whole number, 0 or more"),
        ("[executor]\ncode = 'nfs'\n", 2, "'archive' or 'shared'"),
        ("[executor]\nname = 'slurm'\n", 2, "executor.name: 'slurm'"),
        ("[executor]\nexclude = [1]\n", 2, "a list of patterns"),
        ("[executer]\n", 1, "unknown section or key 'executer'"),
        ("[store]\nurl = 3\n", 2, "store.url: 3"),
        ("[executor]\nname = \n", 2, "not valid TOML"),
    ],
)
def test_errors_name_the_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert message in str(caught.value)


def test_command_line_beats_environment_beats_file(tmp_path: Path) -> None:
    write(tmp_path, FULL)
    name, options = resolve_executor(tmp_path, environ={})
    assert name == "dask" and options["scheduler"] == "tcp://10.0.0.5:8786"
    env = {"HYPERSTEP_EXECUTOR": "local", "HYPERSTEP_DASK_SCHEDULER": "tcp://env:1"}
    name, options = resolve_executor(tmp_path, environ=env)
    assert name == "local" and options["scheduler"] == "tcp://env:1"
    name, options = resolve_executor(
        tmp_path, "DASK", {"scheduler": "tcp://cli:2", "retries": None}, environ=env
    )
    assert name == "dask" and options["scheduler"] == "tcp://cli:2" and options["retries"] == 2


def test_the_store_url_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, FULL)
    assert store_url(tmp_path) == "postgresql+psycopg://h@db/x"
    monkeypatch.setenv("HYPERSTEP_STORE", "sqlite:///x.db")
    assert store_url(tmp_path) == "sqlite:///x.db"
    assert store_url(tmp_path, "sqlite:///given.db") == "sqlite:///given.db"


def test_a_live_local_cluster_is_the_last_resort(tmp_path: Path) -> None:
    assert project_scheduler(tmp_path) is None
    state = tmp_path / ".hyperstep" / "cluster"
    state.mkdir(parents=True)
    record = {
        "address": "tcp://127.0.0.1:9",
        "folder": str(state),
        "workers": 1,
        "slots": 1,
        "processes": [{"role": "scheduler", "pid": 999_999_999, "create_time": 1.0, "log": "x"}],
    }
    (state / "cluster.json").write_text(json.dumps(record))
    assert project_scheduler(tmp_path) is None  # recorded, but its scheduler is not running
    me = psutil.Process(os.getpid())
    record["processes"][0].update(pid=me.pid, create_time=me.create_time())
    (state / "cluster.json").write_text(json.dumps(record))
    assert project_scheduler(tmp_path) == "tcp://127.0.0.1:9"
    assert resolve_executor(tmp_path, "dask", environ={})[1] == {"scheduler": "tcp://127.0.0.1:9"}
    write(tmp_path, "[executor]\nscheduler = 'tcp://file:1'\n")
    assert project_scheduler(tmp_path) == "tcp://file:1"
