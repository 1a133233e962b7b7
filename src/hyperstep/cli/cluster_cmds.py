"""``hyperstep cluster``: a local Dask cluster (scheduler and workers on loopback) to run on."""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from hyperstep.cli.common import Settings, json_option, pass_settings, print_json
from hyperstep.cluster import cluster_status, read_cluster, start_local, stop_local
from hyperstep.errors import ValidationError


def _root(settings: Settings) -> Path:
    return Path(settings.project_dir or os.getcwd()).resolve()


@click.group("cluster")
def cluster_group() -> None:
    """Start, inspect and stop a local Dask cluster for --executor dask."""


@cluster_group.command("up")
@click.option(
    "--local",
    "workers",
    type=int,
    default=None,
    metavar="N",
    help="Start a scheduler and N workers on this machine (loopback).",
)
@click.option(
    "--slots",
    type=int,
    default=1,
    show_default=True,
    help="Executions each worker runs at once (its 'slots' resource and threads).",
)
@click.option(
    "--port",
    type=int,
    default=0,
    show_default=True,
    help="The scheduler's port (0: any free port).",
)
@click.option(
    "--nanny/--no-nanny",
    default=True,
    show_default=True,
    help="Run each worker under a nanny that restarts it when it dies.",
)
@click.option(
    "--timeout",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds to wait for the scheduler and every worker.",
)
@json_option
@pass_settings
def cluster_up(
    settings: Settings,
    workers: int | None,
    slots: int,
    port: int,
    nanny: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Start a Dask scheduler and N workers here, recorded in .hyperstep/cluster/."""
    if workers is None:
        raise ValidationError(
            "cluster up starts a cluster on this machine: pass --local N. On several machines, "
            "run 'dask scheduler' on one and 'dask worker tcp://HOST:8786 --resources slots=1 "
            "--nthreads 1' on the others (see the README)",
            field="--local",
        )
    cluster = start_local(_root(settings), workers, slots, port=port, nanny=nanny, timeout=timeout)
    if as_json:
        print_json(cluster.to_json())
        return
    plural = "s" if workers != 1 else ""
    click.echo(
        f"Dask cluster up: scheduler {cluster.address}, {workers} worker{plural} × {slots} "
        f"slot{'s' if slots != 1 else ''} each (logs in {cluster.folder}).\n"
        f"Run on it: hyperstep task run BLUEPRINT --scheduler {cluster.address}\n"
        "Stop it:   hyperstep cluster down",
        err=True,
    )


@cluster_group.command("down")
@click.option(
    "--timeout",
    type=float,
    default=15.0,
    show_default=True,
    help="Seconds before the processes that did not stop are killed.",
)
@json_option
@pass_settings
def cluster_down(settings: Settings, timeout: float, as_json: bool) -> None:
    """Stop the local cluster's scheduler and workers (by their recorded pids)."""
    root = _root(settings)
    cluster = read_cluster(root)
    stopped = stop_local(root, timeout)
    if as_json:
        print_json({"address": cluster.address if cluster else None, "stopped": stopped})
    elif cluster is None:
        click.echo("No local cluster is up in this project.", err=True)
    else:
        click.echo(
            f"Dask cluster {cluster.address} down ({len(stopped)} processes stopped).", err=True
        )


@cluster_group.command("status")
@json_option
@pass_settings
def cluster_status_cmd(settings: Settings, as_json: bool) -> None:
    """Show the local cluster's workers, their slots and what they run."""
    cluster = read_cluster(_root(settings))
    alive = cluster.alive() if cluster else []
    if cluster is None or cluster.address is None or not alive:
        if as_json:
            print_json({"address": None, "workers": []})
        else:
            click.echo("No local cluster is up in this project.", err=True)
        return
    status = cluster_status(cluster.address)
    status["processes"] = [{"role": p.role, "pid": p.pid} for p in alive]
    if as_json:
        print_json(status)
        return
    table = Table(box=None)
    for column in ("worker", "name", "threads", "resources", "running"):
        table.add_column(column)
    for worker in status["workers"]:
        resources = ", ".join(f"{k}={v:g}" for k, v in worker["resources"].items())
        table.add_row(
            worker["address"],
            str(worker["name"]),
            str(worker["nthreads"]),
            resources,
            str(worker["running"]),
        )
    Console().print(f"Dask scheduler {cluster.address}", highlight=False)
    Console().print(table)


def executor_options(
    executor: str | None, scheduler: str | None, resources: str | None, retries: int | None
) -> tuple[str | None, dict[str, object]]:
    """The executor name and options of ``--executor``, ``--scheduler``, ``--resources`` and
    ``--retries`` (only those given); a scheduler address alone means the dask executor."""
    options = {"scheduler": scheduler, "resources": resources, "retries": retries}
    if executor is None and scheduler:
        executor = "dask"
    return executor, {k: v for k, v in options.items() if v is not None}


scheduler_option = click.option(
    "--scheduler",
    default=None,
    metavar="tcp://HOST:PORT",
    help="Dask scheduler to run on (implies --executor dask; default $HYPERSTEP_DASK_SCHEDULER).",
)
resources_option = click.option(
    "--resources",
    default=None,
    metavar="NAME=N,...",
    help="What each execution asks of a Dask worker (default slots=1), e.g. 'slots=1,GPU=1'.",
)
retries_option = click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=None,
    help="Times an execution whose worker died is run again (default 1 with dask).",
)
