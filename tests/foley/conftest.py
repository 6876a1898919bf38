"""Foley fixtures: the real walking clips (../shared/testdata/walk), their hand labels, short generated clips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
#: blind labels of the six real clips (tests/foley/labels/README.md); scoring in testkit/footsteps.py
LABELS = json.loads((HERE / "labels" / "walk_labels.json").read_text())


@pytest.fixture(scope="session")
def walk_dir(shared_dir: Path) -> Path:
    d = shared_dir / "testdata" / "walk"
    if not d.is_dir():
        pytest.skip(f"walking clips not found in {d}")
    return d


@pytest.fixture(scope="session")
def foley_registry(services, shared_dir: Path):
    if services.registry.locate("yolox-nano") is None:
        pytest.skip("YOLOX-nano weights not found (MODEL_DIRS)")
    if services.registry.locate("mediapipe-pose") is None:
        pytest.skip("mediapipe 0.10.14 (pose) is not installed")
    return services.registry


@pytest.fixture(scope="session")
def labelled_detections(walk_dir: Path, foley_registry):
    """Detection (stride 1) of each of the six labelled clips, run once per session."""
    from sensorium.foley import DetectOptions, detect_footsteps

    out = {}
    for name in LABELS["clips"]:
        out[name] = detect_footsteps(walk_dir / name, foley_registry, DetectOptions(stride=1))
    return out


def read_frames(path: Path, indices: set[int] | None = None) -> dict[int, np.ndarray]:
    import av

    frames = {}
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if indices is None or i in indices:
                frames[i] = f.to_ndarray(format="bgr24")
            if indices is not None and i >= max(indices):
                break
    return frames


@pytest.fixture(scope="session")
def short_walk(walk_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 3.3 s of clip 05 (one walker, 4 labelled strikes inside), re-encoded with its audio."""
    import av

    from sensorium.media.audio import load_audio
    from sensorium.media.encode import encode_video

    src = walk_dir / "gait_abnormal_05_limping.mp4"
    n = 80  # frames at 24 fps
    frames = read_frames(src, set(range(n)))
    audio = load_audio(src, sr=44100, mono=True)[: int(n / 24.015 * 44100)]
    dst = tmp_path_factory.mktemp("foley") / "short_walk.mp4"
    with av.open(str(src)) as c:
        fps = c.streams.video[0].average_rate
    encode_video(dst, [cv for _, cv in sorted(frames.items())], fps=int(round(float(fps))), audio=audio,
                 sample_rate=44100, crf=20)
    return dst
