"""One module per capability; each exposes `router`. Add a module name here to mount it."""

from __future__ import annotations

import importlib

from fastapi import APIRouter

MODULES = ["system", "jobs", "audio", "openai_audio", "visual", "sound", "foley", "emotion", "music", "accounts"]


def ROUTERS() -> list[APIRouter]:
    return [importlib.import_module(f"{__name__}.{name}").router for name in MODULES]
