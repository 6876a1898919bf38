"""Every model Sensorium knows, registered in one place."""

from __future__ import annotations

from sensorium.config import Settings
from sensorium.models.registry import ModelRegistry, ModelSpec


def all_specs() -> list[ModelSpec]:
    from sensorium.models import vision, whisper, yolox

    from sensorium.models import aisfx, text_embedding, yamnet  # sound library (issue 4)
    from sensorium.models import pose  # foley (issue 5)
    return [*whisper.SPECS, *yolox.SPECS, *vision.SPECS,
            *yamnet.SPECS, *aisfx.SPECS, *text_embedding.SPECS,
            *pose.SPECS]


def build_registry(settings: Settings) -> ModelRegistry:
    registry = ModelRegistry(settings)
    for spec in all_specs():
        registry.register(spec)
    return registry
