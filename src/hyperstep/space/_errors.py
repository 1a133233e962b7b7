"""The error every invalid distribution or variant rule raises."""

from __future__ import annotations

from hyperstep.errors import ValidationError


class SpaceError(ValidationError):
    """A distribution, a variant parameter or a point of a space is invalid.

    ``field`` names what is wrong the way a user wrote it (``parameters.lr.rules.min``), so the
    CLI and the API can print the error as it is. ``message`` is the text without the field, for
    callers that re-word the error (the CLI names the ``--param`` text instead).
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.message = message
        super().__init__(message, field=field)
