"""``hyperstep serve``: the REST API, the dashboard and the engine in one process."""

from __future__ import annotations

import click

from hyperstep.cli.common import Settings, pass_settings


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but loopback needs HYPERSTEP_TOKEN set.",
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port (0: any free port).",
)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="NAME",
    help="Another name the server may be reached by (Host header), e.g. behind a "
    "proxy. Repeatable.",
)
@click.option("--executor", default=None, help="local (default) or dask.")
@pass_settings
def serve(
    settings: Settings, host: str, port: int, allow_hosts: tuple[str, ...], executor: str | None
) -> None:
    """Serve the dashboard and the REST API, and drive every task.

    Prints the address to open, with a one-time login token. Unfinished tasks (also those of
    a server or a 'hyperstep task run' that was killed) are resumed. Stopping the server
    leaves running executions running; the next start picks them up.
    """
    from hyperstep.server.serve import ServeOptions
    from hyperstep.server.serve import serve as run_server

    ctx = settings.open(executor)
    try:
        run_server(ctx, ServeOptions(host=host, port=port, allow_hosts=list(allow_hosts)))
    finally:
        ctx.close()
