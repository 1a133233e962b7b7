"""S5: parameters never become environment variables; S17: secrets in the environment stay out
of everything hyperstep writes.

S5. The catalogue's rule (reject loader and shell variables such as ``LD_PRELOAD`` as env-var
parameter names at load) guards a runner that exports parameters. hyperstep exports none: a
parameter named ``LD_PRELOAD`` or ``PATH`` reaches the program only as an argument and in
``config/parameters.json``; and a step's ``environment-variables`` (which hyperstep does not
apply) cannot set ``LD_PRELOAD`` either. Both are checked on the environment the program sees.

S17. The engine's environment is the executions' environment (a program may need its
``WANDB_API_KEY``), except ``HYPERSTEP_TOKEN*``, which guards the server and never reaches a
program. Canary values in variables named like secrets appear nowhere hyperstep writes: not in
the database, not in any file of ``.hyperstep/``, not in what ``exec``/``task`` commands print.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

YAML = """
- step:
    name: envy
    image: python:3.11
    command: {probe} {parameters}
    environment-variables:
      - name: LD_PRELOAD
        default: /nonexistent/evil.so
      - name: BASH_ENV
        default: /nonexistent/evil.sh
    parameters:
      - name: LD_PRELOAD
        type: string
        default: /nonexistent/param.so
      - name: PATH
        type: string
        default: /nonexistent/bin
- task:
    name: two
    step: envy
    type: manual_search
    parameter-sets:
      - {LD_PRELOAD: /tmp/a.so, PATH: /tmp/bin}
      - {LD_PRELOAD: /tmp/b.so, PATH: /tmp/bin2}
"""

CANARIES = {
    "MY_API_TOKEN": "canary-token-6f1d2c",
    "DB_PASSWORD": "canary-password-93ab01",
    "AWS_SECRET_ACCESS_KEY": "canary-secret-55e7aa",
    "SIGNING_KEY": "canary-key-0c4c4c",
    "HYPERSTEP_TOKEN": "canary-hyperstep-token-77d1",
}


def test_parameters_and_step_variables_never_reach_the_environment(
    sec_project, tmp_path: Path
) -> None:
    project = sec_project(YAML)
    dump = tmp_path / "dump"
    dump.mkdir()
    res = project.cli(
        "exec", "run", "envy", "--LD_PRELOAD=/tmp/x.so", env={"PROBE_DUMP": str(dump)}
    )
    assert res.returncode == 0, res
    seen = json.loads((dump / "1.json").read_text())
    assert "LD_PRELOAD" not in seen["env"] and "BASH_ENV" not in seen["env"]
    assert seen["env"]["PATH"] != "/nonexistent/bin"
    assert seen["argv"] == ["--LD_PRELOAD=/tmp/x.so", "--PATH=/nonexistent/bin"]
    config = project.root / ".hyperstep" / "executions" / "1" / "config" / "parameters.json"
    assert json.loads(config.read_text()) == {"LD_PRELOAD": "/tmp/x.so", "PATH": "/nonexistent/bin"}


def _everything_written(project) -> bytes:
    folder = project.root / ".hyperstep"
    chunks = [
        p.read_bytes() for p in folder.rglob("*") if p.is_file() and "hyperstep.db" not in p.name
    ]
    with sqlite3.connect(folder / "hyperstep.db") as conn:
        chunks.append("\n".join(conn.iterdump()).encode())
    for args in (
        ("exec", "show", "1", "--json"),
        ("exec", "list", "--json"),
        ("exec", "logs", "1"),
        ("task", "show", "1", "--json"),
        ("task", "list", "--json"),
        ("task", "export", "1", "--format", "json"),
        ("task", "export", "1", "--format", "csv"),
    ):
        res = project.cli(*args, env=CANARIES)
        assert res.returncode == 0, res
        chunks += [res.stdout.encode(), res.stderr.encode()]
    return b"\n".join(chunks)


def test_secrets_in_the_environment_are_written_nowhere(sec_project, tmp_path: Path) -> None:
    project = sec_project(YAML)
    dump = tmp_path / "dump"
    dump.mkdir()
    res = project.cli("task", "run", "two", env={**CANARIES, "PROBE_DUMP": str(dump)})
    assert res.returncode == 0, res
    written = _everything_written(project)
    for name, value in CANARIES.items():
        assert value.encode() not in written, name
    seen = json.loads((dump / "1.json").read_text())["env"]
    assert "HYPERSTEP_TOKEN" not in seen  # guards the server; never given to a program
    assert seen["MY_API_TOKEN"] == CANARIES["MY_API_TOKEN"]  # a program may need its own keys
