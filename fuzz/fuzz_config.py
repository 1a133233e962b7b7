"""Fuzz the ``valohai.yaml`` loader and linter: any bytes give a project or a HyperstepError.

    python fuzz/fuzz_config.py [libFuzzer options] [CORPUS_DIR ...]

``load_project`` may only raise :class:`hyperstep.errors.HyperstepError` (a ConfigError names
the file and line); ``lint`` never raises; a loaded project's blueprints turn into task specs or
HyperstepErrors. Anything else is a bug: atheris reports it with the input that caused it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

# The third-party parsers are imported first, so that only hyperstep's own code (and PyYAML's
# pure-Python layers, imported inside) is instrumented: the coverage that matters, at a speed
# that allows hundreds of thousands of inputs.
import jsonschema  # noqa: F401
import valohai_yaml  # noqa: F401

with atheris.instrument_imports(include=["hyperstep", "yaml"]):
    from hyperstep.errors import HyperstepError
    from hyperstep.project import blueprint_spec, lint, load_project

FOLDER = Path(tempfile.mkdtemp(prefix="hyperstep-fuzz-"))
CONFIG = FOLDER / "valohai.yaml"


def test_one_input(data: bytes) -> None:
    CONFIG.write_bytes(data)
    for message in lint(CONFIG):
        assert message.level in ("error", "warning")
    try:
        project = load_project(FOLDER)
    except HyperstepError:
        return
    for name in project.blueprints:
        try:
            blueprint_spec(project, name)
        except HyperstepError:
            continue


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
