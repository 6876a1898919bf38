"""`python run.py` starts the server (same as `sensorium serve`)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from sensorium.cli import app  # noqa: E402

if __name__ == "__main__":
    app(["serve", *sys.argv[1:]])
