"""The one exception type users see: a message that names the file and the fix."""

from __future__ import annotations

import re


class GfeError(Exception):
    """A user-facing failure. The CLI prints ``str(err)`` and exits with status 2, no traceback."""


class DataError(GfeError):
    """A dataset file is missing or malformed."""


_URL_WITH_USER = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^\s]*)@")


def mask_secrets(text: str) -> str:
    """Hide the password of every ``scheme://user:password@host`` in ``text`` (``***``). The
    password ends at the last ``@`` of the address, so a password holding ``@`` is hidden whole."""

    def hide(m: re.Match) -> str:
        user, sep, _ = m.group("userinfo").partition(":")
        return f"{m.group('scheme')}{user}{':***' if sep else ''}@"

    return _URL_WITH_USER.sub(hide, text)
