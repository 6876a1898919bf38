"""`python -m sensorium.cli ...`: the same as the `sensorium` command."""

from sensorium.cli.main import app

app()
