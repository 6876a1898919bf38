"""Which floor are they walking on? `surface=auto` looks at the floor under the feet.

The floor patches are cut from a *person-free background* (the per-pixel median of frames sampled
across the video, so walkers vanish on a static camera) at the contact points of the detected
heel strikes, or from the bottom of the frame when nobody stepped. Colour (HSV) and texture
statistics of those patches are scored by simple, explainable rules:

* green and textured -> grass; white, bright, smooth -> snow; yellow-beige, fine grain -> sand;
* grey with strong fine texture (many small edges) -> gravel;
* warm brown with directional texture (grain along one axis) -> wood;
* smooth, bright and pale (polished stone, ceramic; beige allowed when very smooth) -> tile;
* cold grey, specular, low saturation -> metal; dark, very reflective and bluish -> puddle;
* smooth, matte, mid saturation -> carpet; grey, matte, low texture -> concrete.

When `LLM_BASE_URL`/`LLM_MODEL` are configured, `surface=vision` asks the vision endpoint instead
(one floor crop, answer constrained to the surface list); on any failure it falls back to the
rules and says so. The result always has the choice and a human-readable reason.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from sensorium.foley.schemas import SURFACES, SurfaceEstimate

if TYPE_CHECKING:
    from sensorium.models.llm import VisionLLM

log = logging.getLogger(__name__)


def floor_patches(background: np.ndarray, events: list[dict[str, Any]], video_w: int, video_h: int,
                  max_patches: int = 24) -> list[np.ndarray]:
    h, w = background.shape[:2]
    sx, sy = w / max(1, video_w), h / max(1, video_h)
    patches = []
    strikes = [e for e in events if e.get("event") == "heel_strike"][:max_patches]
    for e in strikes:
        size = max(12, int(0.12 * float(e.get("scale", 0.5)) * h))
        x, y = int(e["x"] * sx), int(e["y"] * sy)
        x0, x1 = max(0, x - size), min(w, x + size)
        y0, y1 = max(0, y - size // 3), min(h, y + size // 2)
        if x1 - x0 >= 8 and y1 - y0 >= 6:
            patches.append(background[y0:y1, x0:x1])
    if not patches:  # nobody stepped: the bottom fifth of the frame is usually floor
        patches.append(background[int(0.8 * h):, int(0.1 * w):int(0.9 * w)])
    return patches


def features(patches: list[np.ndarray]) -> dict[str, float]:
    import cv2

    hsv = np.concatenate([cv2.cvtColor(p, cv2.COLOR_BGR2HSV).reshape(-1, 3) for p in patches]).astype(np.float32)
    h, s, v = hsv[:, 0] * 2, hsv[:, 1] / 255, hsv[:, 2] / 255
    sat_mask = s > 0.15
    hue = float(np.median(h[sat_mask])) if sat_mask.mean() > 0.2 else -1.0
    edges, lap, gx_e, gy_e, highlights = [], [], [], [], []
    for p in patches:
        g = cv2.cvtColor(p, cv2.COLOR_BGR2GRAY).astype(np.float32)
        lap.append(float(cv2.Laplacian(g, cv2.CV_32F).std()) / 255)
        gx = cv2.Sobel(g, cv2.CV_32F, 1, 0)
        gy = cv2.Sobel(g, cv2.CV_32F, 0, 1)
        gx_e.append(float(np.abs(gx).mean()))
        gy_e.append(float(np.abs(gy).mean()))
        ed = cv2.Canny(g.astype(np.uint8), 40, 120)
        edges.append(float((ed > 0).mean()))
        highlights.append(float((g > 0.92 * 255).mean()))
    ax = float(np.mean(gx_e)) + 1e-6
    ay = float(np.mean(gy_e)) + 1e-6
    return {
        "hue": round(hue, 1),
        "saturation": round(float(np.median(s)), 3),
        "value": round(float(np.median(v)), 3),
        "value_spread": round(float(np.percentile(v, 90) - np.percentile(v, 10)), 3),
        "texture": round(float(np.mean(lap)), 4),
        "edge_density": round(float(np.mean(edges)), 4),
        "anisotropy": round(max(ax, ay) / min(ax, ay), 2),
        "highlights": round(float(np.mean(highlights)), 4),
    }


def classify(f: dict[str, float]) -> tuple[str, str]:
    """(surface, reason) from patch features."""
    hue, sat, val = f["hue"], f["saturation"], f["value"]
    tex, edges, aniso, hi = f["texture"], f["edge_density"], f["anisotropy"], f["highlights"]
    textured = tex > 0.06 or edges > 0.12
    if 70 <= hue <= 170 and sat > 0.25:
        return "grass", f"green floor (hue {hue:.0f}°, saturation {sat:.2f})"
    if val > 0.85 and sat < 0.10 and not textured and hi > 0.2:
        return "snow", f"very bright, white, smooth floor (value {val:.2f}, saturation {sat:.2f})"
    if val < 0.35 and hi > 0.01 and (hue < 0 or 180 <= hue <= 260):
        return "puddle", f"dark reflective floor with highlights (value {val:.2f})"
    if textured and sat < 0.2 and edges > 0.15:
        return "gravel", f"grey, strongly textured floor (edge density {edges:.2f}, texture {tex:.3f})"
    if 30 <= hue <= 60 and 0.2 <= sat <= 0.55 and val > 0.5 and edges > 0.05:
        return "sand", f"beige-yellow granular floor (hue {hue:.0f}°, edge density {edges:.2f})"
    if (hue < 0 or hue <= 45 or hue >= 340) and sat > 0.3 and aniso > 1.3:
        return "wood", f"warm brown floor with directional grain (hue {hue:.0f}°, anisotropy {aniso:.2f})"
    if (hue < 0 or hue <= 45 or hue >= 340) and sat > 0.35:
        return "wood", f"warm brown floor (hue {hue:.0f}°, saturation {sat:.2f})"
    if (sat < 0.15 and val > 0.6 and tex < 0.06) or (sat < 0.25 and val > 0.7 and tex < 0.04):
        return "tile", f"bright, smooth, glossy floor (value {val:.2f}, texture {tex:.3f}, highlights {hi:.3f})"
    if sat < 0.12 and hi > 0.03 and val > 0.45:
        return "metal", f"cold grey floor with specular highlights (highlights {hi:.3f})"
    if not textured and sat >= 0.15:
        return "carpet", f"matte coloured floor with little texture (saturation {sat:.2f}, texture {tex:.3f})"
    return "concrete", f"grey, matte floor (saturation {sat:.2f}, value {val:.2f}, texture {tex:.3f})"


def _ask_vision(llm: VisionLLM, patches: list[np.ndarray]) -> str | None:
    big = max(patches, key=lambda p: p.shape[0] * p.shape[1])
    text = ("This image is the floor under a walking person. Which one word best names the floor surface? "
            f"Answer with exactly one of: {', '.join(SURFACES)}.")
    answer = llm.chat(llm.build_request([big], text, max_tokens=10)).lower()
    for s in SURFACES:
        if s in answer:
            return s
    return None


def estimate_surface(background: np.ndarray | None, events: list[dict[str, Any]], video_w: int, video_h: int,
                     *, llm: VisionLLM | None = None, use_vision: bool = False) -> SurfaceEstimate:
    """The floor surface with its source (rules | vision | default) and the reason.

    `use_vision` asks `llm` (the registry's `vision_llm()`; None when no endpoint is configured)."""
    if background is None:
        return SurfaceEstimate(surface="concrete", source="default",
                               reason="no frame to look at; concrete is the default", features={})
    patches = floor_patches(background, events, video_w, video_h)
    feats = features(patches)
    surface, reason = classify(feats)
    out = SurfaceEstimate(surface=surface, source="rules", reason=reason, features=feats, patches=len(patches))
    if use_vision:
        if llm is None:
            out.reason += " (vision endpoint not configured: LLM_BASE_URL/LLM_MODEL)"
            return out
        try:
            got = _ask_vision(llm, patches)
        except Exception as exc:  # endpoint down, bad answer: the rules stand
            log.warning("vision surface estimate failed: %s", exc)
            out.reason += f" (vision endpoint failed: {exc})"
            return out
        if got:
            out = out.model_copy(update={
                "surface": got, "source": "vision",
                "reason": f"the vision endpoint ({llm.model}) named the floor '{got}'; rules said {surface}"})
        else:
            out.reason += " (vision endpoint gave no surface from the list)"
    return out
