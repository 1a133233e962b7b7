"""A ``valohai.yaml`` project: loading, linting, parameter values, commands and blueprints.

Parsing, validation and command building are valohai-yaml's (the format's own library, so every
file Valohai accepts is accepted here with its messages); this package adds typed views, errors
with file and line, value resolution and the checks a local runner needs.
"""

from hyperstep.project.blueprints import blueprint_spec
from hyperstep.project.commands import build_command
from hyperstep.project.linting import LintMessage, lint
from hyperstep.project.loader import ParamInfo, Project, StepInfo, load_project
from hyperstep.project.values import parse_cli_args, resolve_values

__all__ = [
    "LintMessage",
    "ParamInfo",
    "Project",
    "StepInfo",
    "blueprint_spec",
    "build_command",
    "lint",
    "load_project",
    "parse_cli_args",
    "resolve_values",
]
