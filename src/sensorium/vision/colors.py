"""Colour names, dominant colours (k-means in Lab) and image quality (brightness, contrast, sharpness)."""

from __future__ import annotations

import colorsys

import numpy as np

from sensorium.vision.schemas import ColorShare, Quality


def _gray_name(v: float) -> str:
    if v > 0.86:
        return "white"
    if v > 0.62:
        return "light gray"
    if v > 0.32:
        return "gray"
    return "dark gray"


def _hue_name(hue: float, s: float, v: float) -> str:
    if hue < 14 or hue >= 345:
        return "pink" if s < 0.45 and v > 0.7 else "red" if v > 0.45 else "dark red"
    if hue < 40:
        if v < 0.55 or (s < 0.5 and v < 0.7):
            return "brown"
        return "beige" if s < 0.35 else "orange"
    if hue < 68:
        return "beige" if s < 0.35 and v > 0.7 else "yellow" if v > 0.55 else "olive"
    if hue < 160:
        return "green" if v > 0.35 else "dark green"
    if hue < 195:
        return "teal" if v < 0.65 else "cyan"
    if hue < 255:
        return "light blue" if s < 0.35 and v > 0.6 else "blue" if v > 0.4 else "navy"
    if hue < 290:
        return "purple"
    return "pink" if v > 0.55 else "maroon"


def color_name(rgb: tuple[int, int, int] | np.ndarray) -> str:
    """A plain English colour name for an sRGB colour (HSV rules, with light/dark variants)."""
    r, g, b = (float(c) / 255 for c in rgb)
    h, s, v = colorsys.rgb_to_hsv(r, g, b)
    if v < 0.16:
        return "black"
    if s < 0.14 or (s < 0.22 and v < 0.45):
        return _gray_name(v)
    return _hue_name(h * 360, s, v)


def dominant_colors(bgr: np.ndarray, k: int = 5, mask: np.ndarray | None = None) -> list[ColorShare]:
    """k-means (Lab) over a thumbnail; clusters with the same name are merged. Largest first."""
    import cv2

    h, w = bgr.shape[:2]
    scale = min(1.0, 64 / max(h, w))
    small = cv2.resize(bgr, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB).reshape(-1, 3).astype(np.float32)
    if mask is not None:
        m = cv2.resize(mask.astype(np.uint8), (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST)
        lab = lab[m.reshape(-1) > 0]
    if len(lab) == 0:
        return []
    k = max(1, min(k, len(np.unique(lab, axis=0))))
    if k == 1:
        centers, labels = lab.mean(0, keepdims=True), np.zeros(len(lab), dtype=np.int32)
    else:
        cv2.setRNGSeed(12345)
        crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
        _, labels, centers = cv2.kmeans(lab, k, None, crit, 2, cv2.KMEANS_PP_CENTERS)
        labels = labels.reshape(-1)
    counts = np.bincount(labels, minlength=len(centers)).astype(np.float64)
    rgb_centers = cv2.cvtColor(np.clip(centers, 0, 255).astype(np.uint8).reshape(-1, 1, 3),
                               cv2.COLOR_LAB2RGB).reshape(-1, 3)
    merged: dict[str, tuple[float, np.ndarray]] = {}  # name -> (weight, mean rgb)
    for c, n in zip(rgb_centers, counts, strict=True):
        if n == 0:
            continue
        name = color_name(c)
        weight, mean = merged.get(name, (0.0, np.zeros(3)))
        merged[name] = (weight + n, (mean * weight + c.astype(np.float64) * n) / (weight + n))
    total = counts.sum()
    out = []
    for name, (weight, mean) in sorted(merged.items(), key=lambda e: e[1][0], reverse=True):
        rgb = [int(round(x)) for x in mean]
        out.append(ColorShare(name=name, hex="#{:02x}{:02x}{:02x}".format(*rgb), rgb=rgb,
                              fraction=round(float(weight / total), 3)))
    return out


def image_quality(bgr: np.ndarray) -> Quality:
    """Brightness (mean luma 0..1), contrast (luma std 0..1), sharpness (variance of the
    Laplacian at <=512 px), with plain labels."""
    import cv2

    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape
    if max(h, w) > 512:
        r = 512 / max(h, w)
        gray = cv2.resize(gray, (max(1, int(w * r)), max(1, int(h * r))), interpolation=cv2.INTER_AREA)
    brightness = float(gray.mean() / 255)
    contrast = float(gray.std() / 255)
    sharp = float(cv2.Laplacian(gray, cv2.CV_64F).var()) if min(gray.shape) >= 3 else 0.0
    return Quality(
        brightness=round(brightness, 3),
        brightness_label="dark" if brightness < 0.25 else "dim" if brightness < 0.4 else
        "bright" if brightness > 0.72 else "normal",
        contrast=round(contrast, 3),
        sharpness=round(sharp, 1),
        sharpness_label="blurry" if sharp < 60 else "soft" if sharp < 250 else "sharp",
    )
