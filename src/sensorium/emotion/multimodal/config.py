"""The training configuration of the multimodal network, loaded from YAML (configs/multimodal.example.yaml).

Paths in the file are relative to the file's own folder. Unknown keys are refused (a typo must not
silently fall back to a default). The defaults are the original system's sizes: 30 frames of 224x224,
64 mel bins x 300 steps (16 kHz, hop 512: 9.6 s of audio), features projected to 128 per modality.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sensorium.errors import ErrorCode, SensoriumError


class MultimodalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # data: MELD-format CSVs and folders of dia{D}_utt{U}.mp4 clips
    train_csv: Path = Field(description="MELD-format training CSV (Utterance, Emotion, Sentiment, Dialogue_ID, "
                                        "Utterance_ID).")
    train_clips: Path = Field(description="Folder of the training clips, named dia{Dialogue_ID}_utt{Utterance_ID}.mp4.")
    dev_csv: Path | None = Field(None, description="Optional dev CSV, evaluated after every epoch.")
    dev_clips: Path | None = Field(None, description="Folder of the dev clips (required with dev_csv).")
    output_dir: Path = Field(Path("runs/multimodal"), description="Checkpoint and report.json go here.")
    cache_dir: Path | None = Field(None, description="Decoded clips (.npz); default output_dir/cache.")
    limit: int | None = Field(None, ge=2, description="Use only the first N rows of each CSV (quick runs).")

    # training
    seed: int = 0
    epochs: int = Field(20, ge=1)
    batch_size: int = Field(16, ge=2, description="At least 2: batch norm needs two samples.")
    lr: float = Field(5e-4, gt=0, description="Learning rate of the fusion layers and the heads.")
    encoder_lr: float = Field(8e-5, gt=0, description="Learning rate of the video and audio encoders and the "
                                                     "text projection.")
    text_lr: float = Field(8e-6, gt=0, description="Learning rate of the unfrozen MiniLM layers.")
    weight_decay: float = Field(1e-5, ge=0)
    schedule: Literal["plateau", "cosine", "none"] = Field(
        "plateau", description="plateau: x0.1 after `patience` epochs without a lower dev (else train) loss; "
                               "cosine: cosine decay to 0 over the epochs; none: constant.")
    patience: int = Field(2, ge=0)
    label_smoothing: float = Field(0.05, ge=0, lt=1)
    class_weights: bool = Field(False, description="Weight the cross-entropy by n / (K * n_k) per head.")
    grad_clip: float = Field(1.0, ge=0, description="Max gradient norm (0 = no clipping).")
    dropout: float = Field(0.3, ge=0, lt=1)
    freeze_text: bool = Field(True, description="Keep MiniLM frozen (only its 384->128 projection learns).")
    text_trainable_layers: int = Field(2, ge=1, le=6, description="With freeze_text false: how many top MiniLM "
                                                                   "layers are trained.")
    max_tokens: int = Field(128, ge=8)
    eval_train: bool = Field(True, description="Measure train accuracy/F1 each epoch with a clean pass "
                                               "(eval mode, no augmentation).")
    threads: int = Field(1, ge=1, description="torch CPU threads during training (results are reproducible for "
                                               "a given count; more than 1 only pays on an idle machine).")
    device: Literal["cpu"] = Field("cpu", description="Only CPU is supported (and tested) in this build.")

    # inputs
    frames: int = Field(30, ge=1, description="Frames per clip, sampled uniformly over the clip.")
    image_size: int = Field(224, ge=16, description="Frames are resized (squashed) to image_size x image_size.")
    sample_rate: int = Field(16000, ge=4000)
    mel_bins: int = Field(64, ge=8)
    steps: int = Field(300, ge=8, description="Spectrogram time steps (padded with zeros or cut).")
    n_fft: int = Field(1024, ge=64)
    hop_length: int = Field(512, ge=16)

    # augmentation (training only): one random crop and flip per clip, the same for all its frames
    crop_scale: float = Field(0.8, gt=0, le=1, description="Smallest side of the random crop, as a fraction "
                                                           "(1 = no crop).")
    flip: bool = True

    @model_validator(mode="after")
    def _dev_pair(self) -> MultimodalConfig:
        if (self.dev_csv is None) != (self.dev_clips is None):
            raise ValueError("dev_csv and dev_clips go together: give both or neither")
        return self

    def resolved(self, base: Path) -> MultimodalConfig:
        """A copy with relative paths made relative to `base` (the config file's folder)."""
        def fix(p: Path | None) -> Path | None:
            return None if p is None else (p if p.is_absolute() else (base / p)).resolve()

        out = self.model_copy(update={k: fix(getattr(self, k)) for k in
                                      ("train_csv", "train_clips", "dev_csv", "dev_clips", "output_dir",
                                       "cache_dir")})
        return out

    @property
    def cache_folder(self) -> Path:
        """Decoded clips for THESE input sizes (another size gets another folder)."""
        root = self.cache_dir or self.output_dir / "cache"
        return root / (f"f{self.frames}_s{self.image_size}_m{self.mel_bins}_t{self.steps}_sr{self.sample_rate}"
                       f"_fft{self.n_fft}_hop{self.hop_length}")

    def check_paths(self) -> None:
        """Fail early, and clearly, when an input is missing."""
        for name in ("train_csv", "dev_csv"):
            p = getattr(self, name)
            if p is not None and not p.is_file():
                raise SensoriumError(ErrorCode.NOT_FOUND, f"{name}: no such file: {p}")
        for name in ("train_clips", "dev_clips"):
            p = getattr(self, name)
            if p is not None and not p.is_dir():
                raise SensoriumError(ErrorCode.NOT_FOUND, f"{name}: no such folder: {p}")

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def load_config(path: Path, **overrides: Any) -> MultimodalConfig:
    """Read and validate a YAML config; relative paths become relative to the file's folder."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise SensoriumError(ErrorCode.NOT_FOUND, f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"{path}: expected a mapping of settings")
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        cfg = MultimodalConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(x) for x in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors())
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"{path}: {problems}") from None
    return cfg.resolved(path.parent)
