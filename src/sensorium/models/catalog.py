"""Every model Sensorium knows, registered in one place."""

from __future__ import annotations

from sensorium.config import Settings
from sensorium.models.registry import ModelRegistry, ModelSpec


def all_specs() -> list[ModelSpec]:
    from sensorium.models import (  # sound library (issue 4)
        aisfx,
        pose,  # foley (issue 5)
        text_embedding,
        vision,
        whisper,
        yamnet,
        yolox,
    )
    return [*whisper.SPECS, *yolox.SPECS, *vision.SPECS,
            *yamnet.SPECS, *aisfx.SPECS, *text_embedding.SPECS,
            *pose.SPECS]


def build_registry(settings: Settings) -> ModelRegistry:
    registry = ModelRegistry(settings)
    for spec in all_specs():
        registry.register(spec)
    return registry
