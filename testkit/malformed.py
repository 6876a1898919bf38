"""A malformed-media corpus, generated: truncated, bit-flipped and random files behind real magic numbers,
decompression bombs, huge declared dimensions, lying WAV headers, an MP4 without its moov atom, empty and
one-sample audio.

`corpus(folder)` writes every case and returns them as `Case(name, family, path)`; `family` is the media
kind the bytes claim to be (image / video / audio), so a test can tell which endpoints should even look
past the type check. Everything is made here from seeded random numbers and PyAV / Pillow encoders.
"""

from __future__ import annotations

import io
import struct
import wave
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Case:
    name: str
    family: str  # image | video | audio: what the magic bytes claim
    path: Path


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _random_bytes(n: int, seed: int) -> bytes:
    return _rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def _tone(seconds: float, sr: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)


def wav_bytes(samples: np.ndarray, sr: int = 16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def _encode_audio(folder: Path, samples: np.ndarray, codec: str, fmt: str, sr: int = 16000) -> bytes:
    from sensorium.media.audio import encode_audio

    path = encode_audio(folder / f"_valid.{fmt}", samples, sr, codec=codec, container_format=fmt)
    data = path.read_bytes()
    path.unlink()
    return data


def _image_bytes(fmt: str, size: tuple[int, int] = (96, 64)) -> bytes:
    from PIL import Image

    arr = (_rng(7).random((size[1], size[0], 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, fmt)
    return buf.getvalue()


def _video_bytes(folder: Path, *, faststart: bool = False) -> bytes:
    from sensorium.media.encode import encode_video

    frames = [np.full((64, 96, 3), 30 + 20 * i, np.uint8) for i in range(10)]
    path = encode_video(folder / "_valid.mp4", frames, fps=10, audio=_tone(1.0), sample_rate=16000,
                        faststart=faststart)
    data = path.read_bytes()
    path.unlink()
    return data


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(side: int = 30000) -> bytes:
    """A real decompression bomb: a 1-bit `side` x `side` PNG of zeros (~900 MP) in ~100 KB."""
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b"")


def png_huge_header(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG whose header declares 10 gigapixels over a few bytes of pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + _png_chunk(b"IEND", b""))


def jpeg_huge_header(jpeg: bytes, width: int = 65000, height: int = 65000) -> bytes:
    """A valid small JPEG whose SOF marker is rewritten to declare `width` x `height`."""
    for marker in (b"\xff\xc0", b"\xff\xc2", b"\xff\xc1"):
        at = jpeg.find(marker)
        if at > 0:
            return jpeg[:at + 5] + struct.pack(">HH", height, width) + jpeg[at + 9:]
    raise ValueError("no SOF marker")


def _riff_wav(fmt_fields: tuple[int, int, int, int, int, int], data: bytes, *, riff_size: int | None = None,
              data_size: int | None = None) -> bytes:
    fmt = struct.pack("<HHIIHH", *fmt_fields)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    chunks += b"data" + struct.pack("<I", len(data) if data_size is None else data_size) + data
    size = 4 + len(chunks) if riff_size is None else riff_size
    return b"RIFF" + struct.pack("<I", size) + b"WAVE" + chunks


def lying_wavs() -> dict[str, bytes]:
    pcm = wav_bytes(_tone(0.5))[44:]
    good = (1, 1, 16000, 32000, 2, 16)
    return {
        "wav-endless-header.wav": _riff_wav(good, pcm, riff_size=0xFFFFFFFF, data_size=0xFFFFFFFF),
        "wav-data-size-lies.wav": _riff_wav(good, pcm, data_size=len(pcm) * 1000),
        "wav-zero-rate.wav": _riff_wav((1, 1, 0, 0, 2, 16), pcm),
        "wav-zero-channels.wav": _riff_wav((1, 0, 16000, 32000, 2, 16), pcm),
        "wav-huge-rate.wav": _riff_wav((1, 1, 0xFFFFFFF0, 0xFFFFFFF0, 2, 16), pcm),
        "wav-odd-bits.wav": _riff_wav((1, 1, 16000, 6000, 3, 3), pcm),
        "wav-unknown-codec.wav": _riff_wav((0x7777, 1, 16000, 32000, 2, 16), pcm),
        "wav-255-channels.wav": _riff_wav((1, 255, 16000, 16000 * 510, 510, 16), pcm),
        "wav-no-data-chunk.wav": b"RIFF" + struct.pack("<I", 28) + b"WAVEfmt " + struct.pack("<I", 16)
                                 + struct.pack("<HHIIHH", *good),
    }


def strip_moov(mp4: bytes) -> bytes:
    """The MP4 with its top-level `moov` box removed (what an interrupted recording leaves)."""
    out, pos = b"", 0
    while pos + 8 <= len(mp4):
        size, kind = struct.unpack(">I4s", mp4[pos:pos + 8])
        if size == 1:
            size = struct.unpack(">Q", mp4[pos + 8:pos + 16])[0]
        size = size or len(mp4) - pos
        if kind != b"moov":
            out += mp4[pos:pos + size]
        pos += size
    if b"moov" in out[:16] or len(out) == len(mp4):
        raise ValueError("no top-level moov box")
    return out


def flip_bits(data: bytes, fraction: float, seed: int, keep: int = 16) -> bytes:
    """`data` with one bit flipped in `fraction` of its bytes (the first `keep` bytes untouched)."""
    arr = bytearray(data)
    rng = _rng(seed)
    n = max(1, int((len(arr) - keep) * fraction))
    for i in rng.integers(keep, len(arr), n):
        arr[i] ^= 1 << int(rng.integers(0, 8))
    return bytes(arr)


def valid_files(folder: Path) -> dict[str, tuple[str, bytes]]:
    """The well-formed originals the damaged cases are made from: name -> (family, bytes)."""
    tone = _tone(1.5)
    return {
        "png": ("image", _image_bytes("PNG")),
        "jpeg": ("image", _image_bytes("JPEG")),
        "mp4": ("video", _video_bytes(folder)),
        "wav": ("audio", wav_bytes(tone)),
        "mp3": ("audio", _encode_audio(folder, tone, "libmp3lame", "mp3")),
        "flac": ("audio", _encode_audio(folder, tone, "flac", "flac")),
    }


def corpus(folder: Path) -> list[Case]:
    """Write every malformed case into `folder`; the list of them."""
    folder.mkdir(parents=True, exist_ok=True)
    valid = valid_files(folder)
    cases: dict[str, tuple[str, bytes]] = {}
    magic_len = {"png": 16, "jpeg": 4, "mp4": 12, "wav": 12, "mp3": 4, "flac": 4}
    for i, (ext, (family, data)) in enumerate(valid.items()):
        cases[f"{ext}-truncated-half.{ext}"] = (family, data[:len(data) // 2])
        cases[f"{ext}-truncated-64.{ext}"] = (family, data[:64])
        cases[f"{ext}-bitflip-1pct.{ext}"] = (family, flip_bits(data, 0.01, seed=i))
        cases[f"{ext}-bitflip-10pct.{ext}"] = (family, flip_bits(data, 0.10, seed=100 + i))
        head = data[:magic_len[ext]]
        cases[f"{ext}-random-behind-magic.{ext}"] = (family, head + _random_bytes(8000, seed=200 + i))
    cases["png-bomb-900mp.png"] = ("image", png_bomb())
    cases["png-huge-header.png"] = ("image", png_huge_header())
    cases["jpeg-huge-header.jpg"] = ("image", jpeg_huge_header(valid["jpeg"][1]))
    cases["mp4-no-moov.mp4"] = ("video", strip_moov(valid["mp4"][1]))
    front = _video_bytes(folder, faststart=True)  # moov first: a cut keeps the index, loses the samples
    cases["mp4-faststart-truncated-60pct.mp4"] = ("video", front[:len(front) * 6 // 10])
    cases["mp4-bitflip-0.1pct.mp4"] = ("video", flip_bits(front, 0.001, seed=300))
    cases.update({name: ("audio", data) for name, data in lying_wavs().items()})
    cases["empty.wav"] = ("audio", b"")
    cases["wav-header-only.wav"] = ("audio", wav_bytes(np.zeros(0, np.float32)))
    cases["wav-1-sample.wav"] = ("audio", wav_bytes(np.array([0.5], np.float32)))
    cases["flac-1-sample.flac"] = ("audio", _encode_audio(folder, np.array([0.5], np.float32), "flac", "flac"))
    cases["mp3-id3-only.mp3"] = ("audio", b"ID3\x04\x00\x00\x00\x00\x00\x00")
    out = []
    for name, (family, data) in cases.items():
        path = folder / name
        path.write_bytes(data)
        out.append(Case(name, family, path))
    return out
