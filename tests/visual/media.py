"""Generated media for the visual tests: text images, clips with hard cuts, speech tracks, bombs."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from sensorium.media.encode import encode_video


def text_image(lines: list[str], path: Path, size: tuple[int, int] = (900, 360)) -> Path:
    """Black text on white, rendered with Pillow's bundled scalable font."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=56)
    y = 50
    for line in lines:
        draw.text((50, y), line, fill=(0, 0, 0), font=font)
        y += 110
    img.save(path, "PNG")
    return path


def png_bomb(path: Path, width: int = 30000, height: int = 30000) -> Path:
    """A real, complete 1-bit PNG of width x height (all zeros, ~100 KB): a decompression bomb."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    comp = zlib.compressobj(9)
    chunks = []
    block = row * 1000
    for _ in range(height // 1000):
        chunks.append(comp.compress(block))
    chunks.append(comp.compress(row * (height % 1000)))
    chunks.append(comp.flush())
    idat = b"".join(chunks)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def animated_gif(path: Path) -> Path:
    from PIL import Image

    frames = [Image.new("RGB", (120, 90), c) for c in [(220, 30, 30), (30, 200, 30), (30, 30, 220)]]
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path


def tiny_png(path: Path, color: tuple[int, int, int] = (255, 140, 0)) -> Path:
    from PIL import Image

    Image.new("RGB", (1, 1), color).save(path, "PNG")
    return path


def _scene(kind: int, t: float, w: int, h: int) -> np.ndarray:
    """Two visually distinct synthetic scenes with moving content (so frames differ within a scene)."""
    import cv2

    img = np.zeros((h, w, 3), np.uint8)
    if kind == 0:
        img[:] = (180, 110, 40)  # blue-ish (BGR)
        x = int(w * 0.1 + t * w * 0.08)
        cv2.circle(img, (x, h // 2), h // 6, (255, 255, 255), -1)
        cv2.rectangle(img, (0, int(h * 0.8)), (w, h), (40, 140, 60), -1)
    else:
        img[:] = (30, 60, 200)  # red-ish
        x = int(w * 0.8 - t * w * 0.08)
        cv2.rectangle(img, (x, h // 4), (x + w // 8, h // 4 + h // 3), (0, 230, 255), -1)
        cv2.line(img, (0, h // 3), (w, int(h * 0.7)), (20, 20, 20), 6)
    return img


def cut_clip(path: Path, cut_at: float = 2.4, duration: float = 5.0, fps: int = 25,
             size: tuple[int, int] = (480, 270), audio: np.ndarray | None = None, sr: int = 16000,
             faststart: bool = False) -> Path:
    w, h = size
    n = int(round(duration * fps))
    rng = np.random.default_rng(1)

    def frames():
        for i in range(n):
            t = i / fps
            img = _scene(0 if t < cut_at else 1, t, w, h)
            noise = rng.integers(-6, 7, img.shape, dtype=np.int16)
            yield np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)

    return encode_video(path, frames(), fps, audio=audio, sample_rate=sr, faststart=faststart)


def photo_clip(path: Path, photos: list[np.ndarray], seconds_each: float = 1.6, fps: int = 10,
               size: tuple[int, int] = (640, 480)) -> Path:
    """A slideshow of real photos (letterboxed to `size`), hard cuts between them."""
    import cv2

    w, h = size

    def fit(img: np.ndarray) -> np.ndarray:
        r = min(w / img.shape[1], h / img.shape[0])
        small = cv2.resize(img, (int(img.shape[1] * r), int(img.shape[0] * r)), interpolation=cv2.INTER_AREA)
        canvas = np.zeros((h, w, 3), np.uint8)
        y0, x0 = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
        canvas[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
        return canvas

    def frames():
        for img in photos:
            f = fit(img)
            for _ in range(int(round(seconds_each * fps))):
                yield f

    return encode_video(path, frames(), fps)


def audio_only_mp4(path: Path, seconds: float = 1.0, sr: int = 16000) -> Path:
    """An MP4 container with an AAC track and no video stream."""
    from sensorium.media.audio import encode_audio

    t = np.arange(int(seconds * sr)) / sr
    return encode_audio(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sr, codec="aac",
                        container_format="mp4")


def load_speech_16k(wav: Path) -> np.ndarray:
    from sensorium.media.audio import load_audio

    return load_audio(wav, 16000)


def png_bytes(img: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


__all__ = ["animated_gif", "audio_only_mp4", "cut_clip", "load_speech_16k", "photo_clip", "png_bomb",
           "png_bytes", "text_image", "tiny_png"]
