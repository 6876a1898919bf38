"""Audio mixing and the annotated video (encoding and muxing are in `media/encode.py`).

* `mix_audio(original, steps, mode)`: replace | mix | duck (the original is lowered by ~8 dB around
  each footstep with a 5 ms attack / 250 ms release envelope), peak-safe.
* `render_annotated(video, detection, out)`: boxes + ids, skeletons, foot markers, a flash and an
  L/R label at each strike, and a timeline strip of all steps at the bottom (re-encoded H.264).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.foley.schemas import MODES, AnnotatedResult
from sensorium.media.encode import audio_rate, reencode_video
from sensorium.media.mix import duck_gain, load_original, peak_safe

DUCK_DB = -8.0
STRIP_H = 72
FOOT_COLORS = {"left": (255, 200, 0), "right": (0, 140, 255)}  # BGR: left cyan-blue, right orange
PERSON_COLORS = [(80, 220, 80), (220, 120, 255), (60, 200, 255), (255, 120, 80), (200, 200, 200)]


def mix_audio(original: np.ndarray | None, steps: np.ndarray, sr: int, mode: str) -> np.ndarray:
    if mode not in MODES:
        raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"mode must be one of {', '.join(MODES)} (got {mode!r}).",
                             details={"param": "mode"})
    if original is None or mode == "replace":
        out = steps.astype(np.float64)
    elif mode == "mix":
        out = original.astype(np.float64) + steps
    else:
        gain = duck_gain(np.max(np.abs(steps), axis=0) > 1e-3, sr, DUCK_DB)
        out = original.astype(np.float64) * gain[None, :] + steps
    return peak_safe(out)


# --- annotated video --------------------------------------------------------------------------
class Annotator:
    def __init__(self, detection: dict[str, Any], tracks: dict[int, dict[str, np.ndarray]], width: int,
                 height: int, fps: float, stride: int) -> None:
        self.events = [e for e in detection["events"] if e["event"] == "heel_strike"]
        self.toe_offs = [e for e in detection["events"] if e["event"] == "toe_off"]
        self.people = [p["person_id"] for p in detection["people"]]
        self.tracks = tracks
        self.w, self.h, self.fps = width, height, fps
        self.stride = max(1, stride)
        self.duration = max(float(detection["video"].get("duration") or 0), 1e-3)
        self.strip = self._strip()

    def _row(self, pid: int) -> int:
        rows = [p for p in self.people if any(e["person_id"] == p for e in self.events)] or self.people
        return rows.index(pid) if pid in rows else 0

    def _strip(self) -> np.ndarray:
        import cv2

        strip = np.full((STRIP_H, self.w, 3), 24, dtype=np.uint8)
        rows = max(1, len({e["person_id"] for e in self.events}))
        for s in range(int(self.duration) + 1):
            x = int(s / self.duration * (self.w - 1))
            cv2.line(strip, (x, 0), (x, 6 if s % 5 else 12), (120, 120, 120), 1)
        row_h = (STRIP_H - 16) / rows
        for e in self.events:
            x = int(e["time_s"] / self.duration * (self.w - 1))
            r = self._row(e["person_id"])
            y0 = int(14 + r * row_h)
            y1 = int(14 + (r + 1) * row_h) - 2
            ym = (y0 + y1) // 2
            col = FOOT_COLORS.get(e["foot"], (255, 255, 255))
            if e["foot"] == "left":
                cv2.line(strip, (x, y0), (x, ym), col, 2)
            else:
                cv2.line(strip, (x, ym), (x, y1), col, 2)
        cv2.putText(strip, "L", (3, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.4, FOOT_COLORS["left"], 1)
        cv2.putText(strip, "R", (3, STRIP_H - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, FOOT_COLORS["right"], 1)
        return strip

    def _state(self, pid: int, frame: int) -> tuple[np.ndarray, np.ndarray] | None:
        t = self.tracks.get(pid)
        if t is None or len(t["frames"]) == 0:
            return None
        frames = t["frames"]
        i = int(np.searchsorted(frames, frame, side="right")) - 1
        if i < 0 or frame - frames[i] > 2 * self.stride:
            return None
        return t["boxes"][i], t["skeletons"][i].astype(np.float32)

    def draw(self, idx: int, t: float, bgr: np.ndarray) -> np.ndarray:
        import cv2

        from sensorium.models.pose import FOOT, SKELETON

        img = bgr.copy()
        for k, pid in enumerate(self.tracks):
            st = self._state(pid, idx)
            if st is None:
                continue
            box, sk = st
            col = PERSON_COLORS[k % len(PERSON_COLORS)]
            x1, y1, x2, y2 = (int(v) for v in box)
            cv2.rectangle(img, (x1, y1), (x2, y2), col, 2)
            cv2.putText(img, f"#{pid}", (x1 + 3, max(14, y1 - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.6, col, 2)
            for a, b in SKELETON:
                if sk[a, 2] > 0.3 and sk[b, 2] > 0.3:
                    cv2.line(img, (int(sk[a, 0]), int(sk[a, 1])), (int(sk[b, 0]), int(sk[b, 1])), (235, 235, 235), 2)
            for side, ids in FOOT.items():
                for part in ("heel", "toe"):
                    j = ids[part]
                    if sk[j, 2] > 0.3:
                        cv2.circle(img, (int(sk[j, 0]), int(sk[j, 1])), 4, FOOT_COLORS[side], -1)
        # strike flashes: expanding ring + label for ~0.3 s
        flash = max(3, int(round(0.3 * self.fps)))
        for e in self.events:
            age = idx - e["frame"]
            if 0 <= age < flash:
                a = 1 - age / flash
                col = FOOT_COLORS.get(e["foot"], (255, 255, 255))
                r = int(10 + 30 * (age / flash))
                overlay = img.copy()
                cv2.circle(overlay, (int(e["x"]), int(e["y"])), r, col, -1)
                img = cv2.addWeighted(overlay, 0.45 * a, img, 1 - 0.45 * a, 0)
                cv2.circle(img, (int(e["x"]), int(e["y"])), r, col, 2)
                label = f"{'L' if e['foot'] == 'left' else 'R'} #{e['person_id']}"
                cv2.putText(img, label, (int(e["x"]) + 12, int(e["y"]) - 14), cv2.FONT_HERSHEY_SIMPLEX, 0.8, col, 2)
        strip = self.strip.copy()
        x = int(t / self.duration * (self.w - 1))
        cv2.line(strip, (x, 0), (x, STRIP_H - 1), (255, 255, 255), 1)
        steps_so_far = sum(1 for e in self.events if e["time_s"] <= t)
        cv2.putText(strip, f"{t:5.2f}s  steps {steps_so_far}", (self.w - 200, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (220, 220, 220), 1)
        return np.vstack([img, strip])


def render_annotated(video: Path | str, detection: dict[str, Any], tracks: dict[int, dict[str, np.ndarray]],
                     out: Path | str, *, with_audio: bool = True,
                     progress: Callable[[float], None] | None = None) -> AnnotatedResult:
    from sensorium.media.video import probe_video

    info = probe_video(video)
    ann = Annotator(detection, tracks, info.width, info.height, info.fps or 30.0,
                    int(detection.get("options", {}).get("stride", 1)))
    audio = None
    sr = audio_rate(video)
    if with_audio and info.has_audio:
        n = int(round(info.duration * sr))
        audio = load_original(video, sr, n)
    reencode_video(video, Path(out), audio=audio, sr=sr, draw=ann.draw, extra_h=STRIP_H, progress=progress)
    return AnnotatedResult(width=info.width, height=info.height + STRIP_H, fps=info.fps, audio=audio is not None)
