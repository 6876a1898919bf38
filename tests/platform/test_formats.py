"""Every format users commonly have: generated here, sniffed from its bytes, decoded with PyAV/Pillow."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import soundfile
from PIL import Image

from sensorium.media.audio import encode_audio, load_audio
from sensorium.media.encode import encode_video
from sensorium.media.sniff import describe
from sensorium.media.video import iter_frames

SR = 48000
TONE = (0.3 * np.sin(2 * np.pi * 440 * np.arange(int(1.5 * SR)) / SR)).astype(np.float32)

# (file name, codec, container format, expected sniffed format)
AUDIO = [
    ("a.wav", "pcm_s16le", "wav", "wav"),
    ("a.mp3", "libmp3lame", "mp3", "mp3"),
    ("a.flac", "flac", "flac", "flac"),
    ("a.ogg", "vorbis (libsndfile)", "ogg", "ogg"),
    ("a.opus", "libopus", "ogg", "ogg"),
    ("a.weba", "libopus", "webm", "webm"),
    ("a.m4a", "aac", "mp4", "m4a"),
    ("a.aiff", "pcm_s16be", "aiff", "aiff"),
    ("a.caf", "pcm_s16le", "caf", "caf"),
    ("a.mka", "aac", "matroska", "mka"),
]


@pytest.mark.parametrize(("name", "codec", "container", "fmt"), AUDIO, ids=[a[0] for a in AUDIO])
def test_audio_formats_are_sniffed_and_decoded(tmp_path: Path, name: str, codec: str, container: str,
                                               fmt: str) -> None:
    if codec.startswith("vorbis"):  # FFmpeg's own Vorbis encoder is experimental: libsndfile writes it
        path = tmp_path / name
        soundfile.write(path, TONE, SR, format="OGG", subtype="VORBIS")
    else:
        path = encode_audio(tmp_path / name, TONE, SR, codec=codec, container_format=container)
    info = describe(path)
    assert (info.kind, info.format) == ("audio", fmt)
    samples = load_audio(path, 16000)
    assert abs(len(samples) / 16000 - 1.5) < 0.1
    spectrum = np.abs(np.fft.rfft(samples[4000:20000]))
    assert abs(np.argmax(spectrum) * 16000 / 16000 - 440) < 5  # the 440 Hz tone survived the codec


def _frames(n: int = 12, w: int = 160, h: int = 96) -> list[np.ndarray]:
    return [np.full((h, w, 3), (20 * i) % 255, np.uint8) for i in range(n)]


VIDEO = [("v.mp4", "mp4"), ("v.mov", "mov"), ("v.mkv", "mkv"), ("v.webm", "webm"), ("v.avi", "avi")]


@pytest.mark.parametrize(("name", "fmt"), VIDEO, ids=[v[0] for v in VIDEO])
def test_video_formats_are_sniffed_and_decoded(tmp_path: Path, name: str, fmt: str) -> None:
    if fmt == "webm":  # VP9: H.264 is not allowed in WebM
        path = tmp_path / name
        with av.open(str(path), "w") as out:
            stream = out.add_stream("libvpx-vp9", rate=12)
            stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
            for img in _frames():
                out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")))
            out.mux(stream.encode())
    else:
        path = encode_video(tmp_path / name, _frames(), fps=12)
    info = describe(path)
    assert (info.kind, info.format) == ("video", fmt)
    assert (info.width, info.height) == (160, 96)
    frames = list(iter_frames(path))
    assert len(frames) == 12


IMAGES = [("i.jpg", "JPEG", "jpeg"), ("i.png", "PNG", "png"), ("i.webp", "WEBP", "webp"), ("i.bmp", "BMP", "bmp"),
          ("i.gif", "GIF", "gif"), ("i.tiff", "TIFF", "tiff"), ("i.avif", "AVIF", "avif"), ("i.heic", "HEIF", "heic")]


@pytest.mark.parametrize(("name", "pil_format", "fmt"), IMAGES, ids=[i[0] for i in IMAGES])
def test_image_formats_are_sniffed_and_decoded(tmp_path: Path, name: str, pil_format: str, fmt: str) -> None:
    from sensorium.media.image import decode_image  # also registers the HEIF opener Pillow saves with

    img = Image.new("RGB", (64, 48), (200, 30, 30))
    img.save(tmp_path / name, format=pil_format)
    info = describe(tmp_path / name)
    assert (info.kind, info.format) == ("image", fmt)
    decoded = decode_image(tmp_path / name, max_pixels=40_000_000)
    bgr = decoded.bgr if hasattr(decoded, "bgr") else decoded
    assert bgr.shape[:2] == (48, 64)
    assert bgr[24, 32, 2] > 150 and bgr[24, 32, 0] < 80  # still red (BGR order)
