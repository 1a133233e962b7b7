"""``hyperstep exec``: run, list, show, follow and stop single executions."""

from __future__ import annotations

import json
import re
import sys
import time

import click
from rich.console import Console
from rich.table import Table

from hyperstep.cli.cluster_cmds import (
    executor_options,
    resources_option,
    retries_option,
    scheduler_option,
)
from hyperstep.cli.common import (
    Settings,
    fmt_duration,
    fmt_time,
    fmt_value,
    json_option,
    pass_settings,
    print_json,
)
from hyperstep.model import ExecutionStatus
from hyperstep.project import parse_cli_args
from hyperstep.service import create_execution, execution_json, run_execution, stop_execution

_STREAM_COLORS = {"stderr": "red", "status": "cyan"}

#: Terminal escape sequences a program may print: CSI (colours, cursor moves, screen clears),
#: OSC/DCS/APC/PM/SOS strings (window titles, OSC 8 links, OSC 52 clipboard writes) up to
#: their terminator, other two-byte escapes, and their 8-bit C1 forms.
_ESCAPE_SEQUENCES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b[\]PX^_].*?(?:\x07|\x1b\\|$)"
    r"|\x1b[ -/]*[0-~]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|[\x90\x98\x9d\x9e\x9f].*?(?:\x07|\x9c|$)",
    re.DOTALL,
)
#: Control characters left once the sequences are gone (tab excepted).
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def _visible(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return "^" + chr(code + 64)
    if code == 0x7F:
        return "^?"
    return f"\\x{code:02x}"


def printable(message: str) -> str:
    """A log line made safe for a terminal: what a program printed can only show as text.

    Escape sequences are removed (a program must not recolour, clear, retitle the user's
    terminal, plant OSC 8 links or write the clipboard with OSC 52), and other control
    characters are shown in caret notation (``^M`` for a carriage return, which could
    otherwise hide the start of a line behind its end), as ``cat -v`` does.
    """
    text = _ESCAPE_SEQUENCES.sub("", message)
    return _CONTROL_CHARACTERS.sub(lambda m: _visible(m.group()), text)


@click.group("exec")
def exec_group() -> None:
    """Run and inspect single executions of a step."""


@exec_group.command(
    "run",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@click.argument("step")
@click.option("--quiet", "-q", is_flag=True, help="Do not echo the execution's output.")
@click.option("--executor", default=None, help="local (default) or dask.")
@scheduler_option
@resources_option
@retries_option
@json_option
@click.pass_context
def exec_run(
    ctx: click.Context,
    step: str,
    quiet: bool,
    executor: str | None,
    scheduler: str | None,
    resources: str | None,
    retries: int | None,
    as_json: bool,
) -> None:
    """Run STEP once with --NAME=VALUE parameters; exit 0 when it completes, 1 otherwise."""
    settings: Settings = ctx.find_object(Settings)  # type: ignore[assignment]
    executor, options = executor_options(executor, scheduler, resources, retries)
    with_ctx = settings.open(executor, **options)
    try:
        step_info = with_ctx.project.step(step)
        given = parse_cli_args(step_info, list(ctx.args))
        record = create_execution(with_ctx, step, given)
        if not quiet and not as_json:
            click.secho(
                f"Execution #{record.counter} ({step}): {record.command}", fg="cyan", err=True
            )

        def echo(_counter: int, stream: str, text: str) -> None:
            click.secho(text, fg=_STREAM_COLORS.get(stream), err=stream == "stderr")

        record = run_execution(with_ctx, record, echo=None if (quiet or as_json) else echo)
        if as_json:
            print_json(execution_json(record))
        else:
            detail = f" ({record.status_detail})" if record.status_detail else ""
            color = "green" if record.status is ExecutionStatus.COMPLETE else "red"
            click.secho(
                f"Execution #{record.counter} {record.status.value}{detail} "
                f"in {fmt_duration(record.duration)}",
                fg=color,
                err=True,
            )
        sys.exit(0 if record.status is ExecutionStatus.COMPLETE else 1)
    finally:
        with_ctx.close()


@exec_group.command("list")
@click.option("--task", "task_counter", type=int, default=None, help="Only this task's (!N).")
@click.option("--status", default=None, help="Only this status (or 'incomplete').")
@click.option("--limit", type=int, default=50, show_default=True)
@json_option
@pass_settings
def exec_list(
    settings: Settings, task_counter: int | None, status: str | None, limit: int, as_json: bool
) -> None:
    """List executions, newest first."""
    ctx = settings.open()
    try:
        task_id = ctx.store.get_task(counter=task_counter).id if task_counter else None
        statuses = _status_filter(status)
        records = ctx.store.list_executions(
            task_id=task_id, status=statuses, limit=limit, order="-counter"
        )
        if as_json:
            print_json([execution_json(r) for r in records])
            return
        table = Table(box=None)
        for col in ("#", "step", "status", "task", "started", "duration", "metadata"):
            table.add_column(col)
        for r in records:
            meta = ", ".join(
                f"{k}={fmt_value(v)}" for k, v in list(r.cumulative_metadata.items())[:4]
            )
            table.add_row(
                f"#{r.counter}",
                r.step,
                r.status.value,
                f"!{r.task_counter}" if r.task_counter else "",
                fmt_time(r.start_time),
                fmt_duration(r.duration),
                meta,
            )
        Console().print(table)
    finally:
        ctx.close()


def _status_filter(status: str | None) -> list[ExecutionStatus] | None:
    if status is None:
        return None
    if status == "incomplete":
        return [s for s in ExecutionStatus if not s.is_final]
    try:
        return [ExecutionStatus(status)]
    except ValueError:
        allowed = ", ".join(s.value for s in ExecutionStatus)
        raise click.BadParameter(f"{status!r}: expected incomplete or one of {allowed}") from None


@exec_group.command("show")
@click.argument("counter", type=int)
@json_option
@pass_settings
def exec_show(settings: Settings, counter: int, as_json: bool) -> None:
    """Show execution #COUNTER: parameters, status, command, latest metadata."""
    ctx = settings.open()
    try:
        record = ctx.store.get_execution(counter=counter)
        data = execution_json(record)
        if as_json:
            print_json(data)
            return
        console = Console()
        console.print(
            f"[bold]Execution #{record.counter}[/bold]  {record.step}  "
            f"[cyan]{record.status.value}[/cyan]",
            markup=True,
            highlight=False,
        )
        rows = [
            ("command", record.command),
            ("exit code", str(record.exit_code)),
            ("started", fmt_time(record.start_time)),
            ("duration", fmt_duration(record.duration)),
            ("detail", record.status_detail or ""),
            ("folder", record.exec_dir),
        ]
        if record.task_counter:
            rows.insert(0, ("task", f"!{record.task_counter} (index {record.task_index})"))
        table = Table(box=None, show_header=False)
        table.add_column(style="bold")
        table.add_column()
        for k, v in rows:
            table.add_row(k, v)
        for k, v in record.parameters.items():
            table.add_row(f"parameter {k}", fmt_value(v))
        for k, v in record.cumulative_metadata.items():
            table.add_row(f"metadata {k}", fmt_value(v))
        console.print(table)
    finally:
        ctx.close()


@exec_group.command("logs")
@click.argument("counter", type=int)
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the execution ends.")
@click.option("--stream", type=click.Choice(["stdout", "stderr"]), default=None)
@click.option(
    "--raw",
    is_flag=True,
    help="Print the lines exactly as the program wrote them, terminal escapes included.",
)
@json_option
@pass_settings
def exec_logs(
    settings: Settings, counter: int, follow: bool, stream: str | None, raw: bool, as_json: bool
) -> None:
    """Print execution #COUNTER's log lines (stdout and stderr, in order).

    Terminal escape sequences and control characters the program printed are neutralised
    unless --raw is given.
    """
    ctx = settings.open()
    try:
        record = ctx.store.get_execution(counter=counter)
        after = 0
        while True:
            lines = ctx.store.get_logs(
                record.id,
                after_seq=after,
                stream="stdout" if stream == "stdout" else "stderr" if stream else None,
            )
            for line in lines:
                after = line.seq
                if as_json:
                    entry = {"stream": line.stream, "time": line.time, "message": line.message}
                    sys.stdout.write(json.dumps(entry) + "\n")
                elif raw:
                    sys.stdout.write(line.message + "\n")
                else:
                    click.secho(printable(line.message), fg=_STREAM_COLORS.get(line.stream))
            sys.stdout.flush()
            if not follow:
                break
            record = ctx.store.get_execution(id=record.id)
            if record.status.is_final and not lines:
                break
            time.sleep(0.2)
    finally:
        ctx.close()


@exec_group.command("stop")
@click.argument("counter", type=int)
@json_option
@pass_settings
def exec_stop(settings: Settings, counter: int, as_json: bool) -> None:
    """Stop execution #COUNTER (SIGTERM to its process group, SIGKILL after a grace period)."""
    ctx = settings.open()
    try:
        record = stop_execution(ctx, counter)
        if as_json:
            print_json(execution_json(record))
        else:
            click.echo(f"Execution #{counter}: {record.status.value}")
    finally:
        ctx.close()
