"""A model's state as the API and the CLI show it."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ModelStatus(BaseModel):
    name: str = Field(..., description="Registry name, e.g. `whisper-tiny.en`, `yolox-nano`.")
    task: str = Field(..., description="What it does.")
    description: str = Field(..., description="One line about the model.")
    license: str = Field(..., description="The weights' licence.")
    source: str = Field(..., description="Where the weights come from.")
    available: bool = Field(..., description="Its weights are on this machine.")
    loaded: bool = Field(..., description="Loaded in this process now.")
    path: str | None = Field(None, description="Where the weights are (when available).")
    load_seconds: float | None = Field(None, description="Time of the last load.")
    last_error: str | None = Field(None, description="Why the last load failed, if it did.")
    install_hint: str | None = Field(None, description="What to do to get the weights (when unavailable).")
