"""No person, or a person standing still: zero steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sensorium.foley import DetectOptions, detect_footsteps
from sensorium.media.encode import encode_video
from tests.foley.conftest import read_frames


def test_generated_clip_without_people_gives_zero_steps(foley_registry, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    frames = []
    for i in range(60):  # a textured floor with moving objects (balls, boxes), no person
        img = np.full((360, 640, 3), 90, np.uint8)
        img[200:] = (150, 160, 170)
        img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
        x = 40 + i * 8
        img[240:300, x:x + 60] = (40, 80, 200)
        cv = 320 + int(80 * np.sin(i / 6))
        img[120:160, cv:cv + 40] = (200, 200, 40)
        frames.append(img)
    clip = encode_video(tmp_path / "empty.mp4", frames, fps=30)
    det = detect_footsteps(clip, foley_registry, DetectOptions())
    assert det.frames_processed == 60
    assert [e for e in det.events if e["event"] == "heel_strike"] == []
    assert det.summary()["steps"] == 0


@pytest.mark.parametrize("frame_index", [90, 300])
def test_person_standing_still_gives_zero_steps(foley_registry, walk_dir: Path, tmp_path: Path,
                                                 frame_index: int) -> None:
    """One frame of a real walk clip (the walker fully visible, mid-stride) held for 3 s with sensor
    noise and a 1-px camera shake: a person who does not move must not make footsteps."""
    src = read_frames(walk_dir / "gait_abnormal_08_no_arm_swing.mp4", {frame_index})[frame_index]
    rng = np.random.default_rng(frame_index)
    frames = []
    for _ in range(90):
        dx, dy = rng.integers(-1, 2, 2)
        img = np.roll(np.roll(src, dx, axis=1), dy, axis=0).astype(np.float32)
        frames.append(np.clip(img + rng.normal(0, 2.5, img.shape), 0, 255).astype(np.uint8))
    clip = encode_video(tmp_path / "standing.mp4", frames, fps=30)
    det = detect_footsteps(clip, foley_registry, DetectOptions())
    tracked = [p for p in det.people if p["frames_tracked"] >= 60]
    assert tracked, "the standing person must be seen (tracked), only without steps"
    assert [e for e in det.events if e["event"] == "heel_strike"] == []
