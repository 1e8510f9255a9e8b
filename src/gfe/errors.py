"""The one exception type users see: a message that names the file and the fix."""

from __future__ import annotations

import errno
import re


class GfeError(Exception):
    """A user-facing failure. The CLI prints ``str(err)`` and exits with status 2, no traceback."""


class DataError(GfeError):
    """A dataset file is missing or malformed."""


_URL_WITH_USER = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^\s]*)@")
_KEY_VALUE_PASSWORD = re.compile(
    r"(?P<key>\b(?:password|passwd|pwd)\s*=\s*)(?P<value>'[^']*'|\"[^\"]*\"|\S+)", re.I
)


def mask_secrets(text: str) -> str:
    """Hide the password of every ``scheme://user:password@host`` in ``text`` (``***``), and the value
    of every ``password=…`` (a libpq connection string). The password ends at the last ``@`` of the
    address, so a password holding ``@`` is hidden whole."""

    def hide(m: re.Match) -> str:
        user, sep, _ = m.group("userinfo").partition(":")
        return f"{m.group('scheme')}{user}{':***' if sep else ''}@"

    text = _URL_WITH_USER.sub(hide, str(text))
    return _KEY_VALUE_PASSWORD.sub(lambda m: f"{m.group('key')}***", text)


_OS_FIXES = {
    errno.ENOSPC: "free some disk space or write elsewhere",
    errno.EDQUOT: "free some disk space (quota) or write elsewhere",
    errno.EACCES: "check its permissions or choose another path",
    errno.EPERM: "check its permissions or choose another path",
    errno.EROFS: "the file system is read-only; write elsewhere",
    errno.ENOENT: "check that the path exists",
    errno.ENOTDIR: "a part of the path is a file, not a folder; choose another path",
    errno.EISDIR: "it is a folder; give a file name",
    errno.EBADF: "the file or stream is closed",
}


def os_error_message(exc: OSError, what: str | None = None) -> str:
    """One line for an operating-system error: the file (or ``what``), the reason and the fix."""
    where = what or (exc.filename and str(exc.filename)) or "input/output"
    reason = exc.strerror or type(exc).__name__
    fix = _OS_FIXES.get(exc.errno or -1, "check the path and retry")
    return mask_secrets(f"{where}: {reason} ({fix})")
