"""Every model Sensorium knows, registered in one place."""

from __future__ import annotations

from sensorium.config import Settings
from sensorium.models.registry import ModelRegistry, ModelSpec


def all_specs() -> list[ModelSpec]:
    from sensorium.models import whisper

    return [*whisper.SPECS]


def build_registry(settings: Settings) -> ModelRegistry:
    registry = ModelRegistry(settings)
    for spec in all_specs():
        registry.register(spec)
    return registry
