"""The ``hyperstep`` command line: thin wrappers over :mod:`hyperstep.service`.

Every user error (a :class:`~hyperstep.errors.HyperstepError`) is printed as one clear line on
stderr with exit status 2 (1 is kept for "the execution or task itself failed"); never a
traceback.
"""

from __future__ import annotations

import sys

import click

from hyperstep import __version__
from hyperstep.cli.cluster_cmds import cluster_group
from hyperstep.cli.common import Settings
from hyperstep.cli.exec_cmds import exec_group
from hyperstep.cli.lint_cmd import lint
from hyperstep.cli.serve_cmd import serve
from hyperstep.cli.task_cmds import task_group
from hyperstep.errors import HyperstepError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hyperstep")
@click.option(
    "--project",
    "project_dir",
    type=click.Path(file_okay=False, path_type=str),
    default=None,
    help="Project folder (default: the current folder).",
)
@click.option(
    "--store",
    "store_url",
    default=None,
    metavar="URL",
    help="SQLAlchemy URL of the store (default: $HYPERSTEP_STORE, else SQLite in .hyperstep/).",
)
@click.option(
    "--config", default="valohai.yaml", show_default=True, help="The project's YAML file."
)
@click.pass_context
def cli(ctx: click.Context, project_dir: str | None, store_url: str | None, config: str) -> None:
    """Hyperparameter-optimization tasks over the steps of a valohai.yaml project."""
    ctx.obj = Settings(project_dir=project_dir, store_url=store_url, config=config)


cli.add_command(lint)
cli.add_command(exec_group)
cli.add_command(task_group)
cli.add_command(cluster_group)
cli.add_command(serve)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    try:
        cli.main(args=argv, prog_name="hyperstep", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except HyperstepError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
