"""Media type from content, never from the filename or Content-Type.

`sniff_bytes(head)` looks at magic bytes; `probe(path)` confirms audio/video containers with PyAV
(which streams exist, duration) so that e.g. an MP4 holding only audio counts as audio, an MP4 with
no decodable stream is rejected, and a PNG renamed .mp3 is an image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sensorium.errors import ErrorCode, SensoriumError

Kind = Literal["image", "video", "audio"]

IMAGE_FORMATS = ("jpeg", "png", "webp", "bmp", "gif", "tiff", "heic", "avif")
VIDEO_FORMATS = ("mp4", "avi", "mov", "mkv", "webm")
AUDIO_FORMATS = ("mp3", "wav", "m4a", "flac", "ogg", "webm", "mka", "aiff", "caf")  # ogg: Vorbis or Opus
SUPPORTED = {"image": IMAGE_FORMATS, "video": VIDEO_FORMATS, "audio": AUDIO_FORMATS}

HEAD_BYTES = 64


@dataclass
class MediaInfo:
    kind: Kind
    format: str  # one of the *_FORMATS
    mime: str
    duration: float | None = None
    has_audio: bool = False
    has_video: bool = False
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    extra: dict = field(default_factory=dict)


MIME = {
    "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "bmp": "image/bmp",
    "gif": "image/gif", "mp4": "video/mp4", "avi": "video/x-msvideo", "mov": "video/quicktime",
    "mkv": "video/x-matroska", "mp3": "audio/mpeg", "wav": "audio/wav", "m4a": "audio/mp4",
    "flac": "audio/flac", "ogg": "audio/ogg", "webm": "video/webm",
    "aiff": "audio/aiff", "mka": "audio/x-matroska", "caf": "audio/x-caf", "tiff": "image/tiff",
    "heic": "image/heic", "avif": "image/avif",
}
AUDIO_MIME = {"webm": "audio/webm"}

#: ISO-BMFF brands of still images (HEIF/HEIC from phones, AVIF)
HEIC_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")
AVIF_BRANDS = (b"avif", b"avis")


def _is_mp3_frame(head: bytes) -> bool:
    if len(head) < 4 or head[0] != 0xFF or (head[1] & 0xE0) != 0xE0:
        return False
    version = (head[1] >> 3) & 0x3
    layer = (head[1] >> 1) & 0x3
    bitrate = head[2] >> 4
    rate = (head[2] >> 2) & 0x3
    return version != 1 and layer != 0 and bitrate not in (0, 15) and rate != 3


def sniff_bytes(head: bytes) -> tuple[Kind, str] | None:
    """(kind, format) guessed from the first bytes, or None when unrecognised.

    ISO-BMFF (mp4/mov/m4a) and Ogg/Matroska are provisional: `probe` settles audio vs video.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "image", "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image", "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", "webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio", "wav"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video", "avi"
    if head[:2] == b"BM" and len(head) >= 26 and head[14] in (12, 40, 52, 56, 64, 108, 124):
        return "image", "bmp"
    if head.startswith(b"fLaC"):
        return "audio", "flac"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "audio", "aiff"
    if head.startswith(b"caff"):
        return "audio", "caf"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image", "tiff"
    if head.startswith(b"OggS"):
        return "audio", "ogg"
    if head.startswith(b"ID3") or _is_mp3_frame(head):
        return "audio", "mp3"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video", "webm" if b"webm" in head[:HEAD_BYTES] else "mkv"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in AVIF_BRANDS:
            return "image", "avif"
        if brand in HEIC_BRANDS:
            return "image", "heic"
        if brand in (b"M4A ", b"M4B ", b"M4P "):
            return "audio", "m4a"
        if brand == b"qt  ":
            return "video", "mov"
        return "video", "mp4"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return "video", "mov"
    return None


def sniff_file(path: Path) -> tuple[Kind, str] | None:
    with open(path, "rb") as fh:
        return sniff_bytes(fh.read(HEAD_BYTES))


def probe_av(path: Path, kind: Kind, fmt: str) -> MediaInfo:
    """Open an audio/video container with PyAV and describe its streams.

    Raises PROCESSING_FAILED for a corrupt/truncated/empty container.
    """
    import av  # local: keep `import sensorium` light

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            vstreams = [s for s in container.streams.video if s.codec_context is not None]
            astreams = [s for s in container.streams.audio if s.codec_context is not None]
            duration = None
            if container.duration:
                duration = container.duration / 1_000_000
            info = MediaInfo(kind=kind, format=fmt, mime=MIME[fmt], duration=duration)
            # cover art in mp3/m4a is a video stream with one picture: treat as audio
            real_video = [s for s in vstreams if not (s.disposition & av.stream.Disposition.attached_pic)] \
                if hasattr(av.stream, "Disposition") else vstreams
            if real_video:
                v = real_video[0]
                info.has_video = True
                info.width, info.height = v.codec_context.width, v.codec_context.height
                rate = v.average_rate or v.guessed_rate
                info.fps = float(rate) if rate else None
                if duration is None and v.duration and v.time_base:
                    info.duration = float(v.duration * v.time_base)
            if astreams:
                a = astreams[0]
                info.has_audio = True
                info.sample_rate = a.codec_context.sample_rate
                info.channels = a.codec_context.channels
                if info.duration is None and a.duration and a.time_base:
                    info.duration = float(a.duration * a.time_base)
    except SensoriumError:
        raise
    except Exception as exc:  # av.error.* : invalid data, EOF, ...
        raise SensoriumError(
            ErrorCode.PROCESSING_FAILED,
            f"Could not read the {fmt.upper()} container: {exc}. The file may be corrupt or truncated.",
        ) from exc
    if info.has_video and kind == "audio" and fmt == "ogg":
        info.kind = "video"
    if not info.has_video and kind == "video":
        if info.has_audio:
            info.kind = "audio"
            info.format = {"mp4": "m4a", "mov": "m4a", "mkv": "mka"}.get(fmt, fmt)
            info.mime = AUDIO_MIME.get(info.format) or MIME.get(info.format, info.mime)
        else:
            raise SensoriumError(
                ErrorCode.PROCESSING_FAILED, "The container holds no decodable audio or video stream."
            )
    if info.kind == "audio" and not info.has_audio:
        raise SensoriumError(ErrorCode.PROCESSING_FAILED, "The file holds no decodable audio stream.")
    return info


def describe(path: Path) -> MediaInfo:
    """Sniff then (for audio/video) probe. Raises INVALID_FILE_TYPE for unknown content."""
    if path.stat().st_size == 0:
        raise SensoriumError(ErrorCode.PROCESSING_FAILED, "The file is empty (0 bytes).")
    guess = sniff_file(path)
    if guess is None:
        raise SensoriumError(ErrorCode.INVALID_FILE_TYPE, unsupported_message())
    kind, fmt = guess
    if kind == "image":
        return MediaInfo(kind="image", format=fmt, mime=MIME[fmt])
    return probe_av(path, kind, fmt)


def unsupported_message(expected: tuple[str, ...] | None = None) -> str:
    kinds = expected or ("image", "video", "audio")
    parts = [f"{k}: {', '.join(f.upper() for f in SUPPORTED[k])}" for k in kinds]
    return "Unsupported or unrecognised file content. Supported " + "; ".join(parts) + "."
