"""The one exception hierarchy of hyperstep.

Every error a user can cause derives from :class:`HyperstepError` and carries a message that
names the file, line or field at fault, so the CLI and the API print it as it is (no traceback)::

    HyperstepError
    ├── ConfigError        valohai.yaml or hyperstep.toml is unreadable or invalid
    ├── ValidationError    a value, a task spec or an API payload is invalid (field)
    ├── NotFoundError      an unknown step, blueprint, execution or task
    ├── ConflictError      the operation does not fit the current state (a leased task)
    └── EngineUnavailable  an optional engine or executor is not installed
"""

from __future__ import annotations


class HyperstepError(Exception):
    """Base of every error hyperstep reports to a user."""


class ConfigError(HyperstepError):
    """A configuration file cannot be used; the message names the file and the line if known."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}")


class ValidationError(HyperstepError):
    """A value is invalid; ``field`` names it (``parameters.learning_rate.rules.min``)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class NotFoundError(HyperstepError):
    """An unknown step, blueprint, execution or task."""


class ConflictError(HyperstepError):
    """The operation does not fit the current state."""


class EngineUnavailable(HyperstepError):
    """An optional engine or executor is not installed (names the extra to install)."""
