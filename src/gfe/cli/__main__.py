"""``python -m gfe.cli``: the same as the ``gfe`` command."""

from gfe.cli import app

app()
