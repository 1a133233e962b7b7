"""``hyperstep lint``: validate a valohai.yaml with valohai-yaml plus hyperstep's own checks."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hyperstep.cli.common import Settings, pass_settings
from hyperstep.project import lint as lint_file


@click.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@pass_settings
def lint(settings: Settings, file: Path | None) -> None:
    """Validate and lint FILE (default: the project's valohai.yaml). Exit 1 on errors."""
    path = file or Path(settings.project_dir or ".") / settings.config
    messages = lint_file(path)
    errors = 0
    for msg in messages:
        where = f"{path}:{msg.line}" if msg.line else f"{path}"
        color = "red" if msg.level == "error" else "yellow"
        errors += msg.level == "error"
        click.secho(f"{where}: {msg.level}: {msg.message}", fg=color, err=msg.level == "error")
    warnings = len(messages) - errors
    summary = f"{path}: {errors} error(s), {warnings} warning(s)"
    click.echo(summary if messages else f"{path}: OK")
    sys.exit(1 if errors else 0)
