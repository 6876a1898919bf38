"""Settings for tests and benchmarks: a private DATA_DIR, the models in ../shared/models, no downloads."""

from __future__ import annotations

import os
from pathlib import Path

from sensorium.config import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SENSORIUM_SHARED_DIR", REPO.parent / "shared"))


def make_settings(root: Path, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        data_dir=root / "data",
        log_dir=root / "logs",
        model_cache_dir=Path(os.environ.get("SENSORIUM_TEST_MODEL_CACHE", REPO / ".cache" / "models")),
        model_dirs=[SHARED / "models"],
        model_ttl_seconds=-1,
        allow_downloads=False,
        job_workers=1,
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]
