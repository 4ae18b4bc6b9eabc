"""`python -m polystack.cli` runs the command line."""

from polystack.cli.main import app

app()
