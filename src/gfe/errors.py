"""The one exception type users see: a message that names the file and the fix."""

from __future__ import annotations


class GfeError(Exception):
    """A user-facing failure. The CLI prints ``str(err)`` and exits with status 2, no traceback."""


class DataError(GfeError):
    """A dataset file is missing or malformed."""
