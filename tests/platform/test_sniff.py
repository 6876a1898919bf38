from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.media.audio import encode_audio, load_audio, write_wav
from sensorium.media.sniff import describe, sniff_bytes
from testkit import media_factory


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("sniff")
    sig = media_factory.tone(1.0, 440, 16000)
    out = {"wav": write_wav(d / "a.wav", sig, 16000)}
    out["mp3"] = encode_audio(d / "a.mp3", sig, 16000, codec="libmp3lame")
    out["m4a"] = encode_audio(d / "a.m4a", sig, 16000, codec="aac", container_format="ipod")
    out["flac"] = encode_audio(d / "a.flac", sig, 16000, codec="flac")
    out["ogg"] = encode_audio(d / "a.ogg", media_factory.tone(1.0, 440, 48000), 48000, codec="libopus")
    return out


@pytest.mark.parametrize("fmt", ["wav", "mp3", "m4a", "flac", "ogg"])
def test_audio_formats_are_sniffed_and_decoded(clips: dict[str, Path], fmt: str) -> None:
    info = describe(clips[fmt])
    assert (info.kind, info.format) == ("audio", fmt)
    audio = load_audio(clips[fmt], 16000)
    assert abs(len(audio) / 16000 - 1.0) < 0.1
    # the 440 Hz tone survives every codec
    spectrum = np.abs(np.fft.rfft(audio[:16000 // 2]))
    peak_hz = np.argmax(spectrum) * 16000 / (len(audio[:16000 // 2]))
    assert abs(peak_hz - 440) < 5


def test_magic_bytes() -> None:
    assert sniff_bytes(_png()) == ("image", "png")
    assert sniff_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 20) == ("image", "jpeg")
    assert sniff_bytes(b"GIF89a" + b"\0" * 20) == ("image", "gif")
    assert sniff_bytes(b"RIFF\0\0\0\0WEBPVP8 ") == ("image", "webp")
    assert sniff_bytes(b"RIFF\0\0\0\0AVI LIST") == ("video", "avi")
    assert sniff_bytes(b"\x1a\x45\xdf\xa3" + b"\0" * 20) == ("video", "mkv")
    assert sniff_bytes(b"\0\0\0\x20ftypM4A \0\0\0\0") == ("audio", "m4a")
    assert sniff_bytes(b"\0\0\0\x14ftypqt  \0\0\0\0") == ("video", "mov")
    assert sniff_bytes(b"just some text, not media") is None
    assert sniff_bytes(b"") is None


def test_png_renamed_mp3_is_an_image(tmp_path: Path) -> None:
    p = tmp_path / "song.mp3"
    p.write_bytes(_png())
    info = describe(p)
    assert info.kind == "image" and info.format == "png"


def test_truncated_and_corrupt_audio(clips: dict[str, Path], tmp_path: Path) -> None:
    data = clips["m4a"].read_bytes()
    trunc = tmp_path / "trunc.m4a"
    trunc.write_bytes(data[:200])  # header only: no moov box
    with pytest.raises(SensoriumError) as exc:
        describe(trunc)
    assert exc.value.code == ErrorCode.PROCESSING_FAILED
    corrupt = tmp_path / "corrupt.flac"
    corrupt.write_bytes(b"fLaC" + bytes(np.random.default_rng(0).integers(0, 255, 4000, dtype=np.uint8)))
    with pytest.raises(SensoriumError) as exc:
        load_audio(corrupt)
    assert exc.value.code == ErrorCode.PROCESSING_FAILED


def test_empty_and_too_short_audio(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(SensoriumError) as exc:
        describe(empty)
    assert exc.value.code == ErrorCode.PROCESSING_FAILED
    short = write_wav(tmp_path / "short.wav", media_factory.tone(0.01), 16000)
    with pytest.raises(SensoriumError) as exc:
        load_audio(short)
    assert exc.value.code == ErrorCode.PROCESSING_FAILED and "10 ms" in exc.value.message
