"""Write .env.example from the Settings fields (run after adding a setting)."""

from __future__ import annotations

from pathlib import Path

from sensorium.config import Settings

HEADER = """# Sensorium settings. Every variable is optional; the value shown is the default.
# Copy to .env (read from the working directory) or set them in the environment.
"""


def render() -> str:
    lines = [HEADER]
    for name, field in Settings.model_fields.items():
        default = field.default if field.default_factory is None else field.default_factory()
        if isinstance(default, bool):
            default = str(default).lower()
        elif isinstance(default, list):
            default = ",".join(map(str, default))
        elif default is None or default == {}:
            default = ""
        lines.append(f"# {field.description or name.upper()}")
        lines.append(f"{name.upper()}={default}\n")
    return "\n".join(lines)


if __name__ == "__main__":
    Path(__file__).resolve().parents[1].joinpath(".env.example").write_text(render())
