"""Audio decoding and synthesis helpers (PyAV)."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.errors import ErrorCode, SensoriumError

MIN_AUDIO_SECONDS = 0.1


def load_audio(
    path: Path | str,
    sr: int = 16000,
    *,
    mono: bool = True,
    max_seconds: float | None = None,
    check: Callable[[], None] | None = None,
    min_seconds: float = MIN_AUDIO_SECONDS,
    head_seconds: float | None = None,
) -> np.ndarray:
    """Decode the first audio stream to float32 in [-1, 1] at `sr` Hz (mono: shape (n,), else (c, n)).

    Raises PROCESSING_FAILED when the stream is missing, corrupt, empty or shorter than
    `min_seconds`, and VALIDATION_ERROR when it is longer than `max_seconds`. With `head_seconds`,
    only the first `head_seconds` are decoded and returned (longer audio is cut, not rejected).
    """
    import av

    chunks: list[np.ndarray] = []
    total = 0
    limit = int(max_seconds * sr) if max_seconds else None
    head = int(head_seconds * sr) if head_seconds else None
    layout = "mono" if mono else "stereo"
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise SensoriumError(ErrorCode.PROCESSING_FAILED, "The file has no audio stream.")
            stream = container.streams.audio[0]
            stream.thread_type = "AUTO"
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=sr)
            for n_frames, frame in enumerate(container.decode(stream), start=1):
                frame.pts = None
                for out in resampler.resample(frame):
                    arr = out.to_ndarray()
                    chunks.append(arr)
                    total += arr.shape[-1]
                if head is not None and total >= head:
                    break
                if limit is not None and total > limit:
                    raise SensoriumError(
                        ErrorCode.VALIDATION_ERROR,
                        f"Audio is longer than the {max_seconds:.0f}s limit (MAX_MEDIA_DURATION_SECONDS).",
                    )
                if check is not None and n_frames % 200 == 0:
                    check()
            else:  # the whole stream was read: flush the resampler
                for out in resampler.resample(None):
                    chunks.append(out.to_ndarray())
    except SensoriumError:
        raise
    except Exception as exc:  # av.error.InvalidDataError, EOFError, ...
        if chunks:  # a truncated file: keep what decoded cleanly
            pass
        else:
            raise SensoriumError(
                ErrorCode.PROCESSING_FAILED,
                f"Could not decode the audio: {exc}. The file may be corrupt or truncated.",
            ) from exc
    if not chunks:
        raise SensoriumError(ErrorCode.PROCESSING_FAILED, "The audio stream holds no samples.")
    audio = np.concatenate(chunks, axis=-1).astype(np.float32, copy=False)
    if head is not None:
        audio = audio[..., :head]
    if mono:
        audio = audio.reshape(-1)
    n = audio.shape[-1]
    if n < min_seconds * sr:
        raise SensoriumError(
            ErrorCode.PROCESSING_FAILED,
            f"The audio is {n / sr * 1000:.0f} ms long; at least {min_seconds * 1000:.0f} ms is needed.",
        )
    if not np.isfinite(audio).all():
        audio = np.nan_to_num(audio, copy=False)
    return audio


def load_audio_window(path: Path | str, sr: int, start: float, seconds: float) -> np.ndarray:
    """Mono float32 audio of `seconds` from `start` s at `sr` Hz, seeking instead of decoding what comes
    before (long tracks analysed in windows). Shorter when the stream ends early; empty past the end."""
    import av

    chunks: list[np.ndarray] = []
    want = int(seconds * sr)
    total = 0
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise SensoriumError(ErrorCode.PROCESSING_FAILED, "The file has no audio stream.")
            stream = container.streams.audio[0]
            if start > 0:
                container.seek(int(start / stream.time_base), stream=stream, backward=True, any_frame=False)
            resampler = av.AudioResampler(format="fltp", layout="mono", rate=sr)
            for frame in container.decode(stream):
                t = float(frame.pts * stream.time_base) if frame.pts is not None else None
                frame.pts = None
                for out in resampler.resample(frame):
                    arr = out.to_ndarray().reshape(-1)
                    if t is not None and t < start:  # the seek lands on or before `start`: trim
                        arr = arr[max(0, int(round((start - t) * sr))):]
                        t = None
                    chunks.append(arr)
                    total += len(arr)
                if total >= want:
                    break
    except SensoriumError:
        raise
    except Exception as exc:
        if not chunks:
            raise SensoriumError(ErrorCode.PROCESSING_FAILED, f"Could not decode the audio: {exc}.") from exc
    audio = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
    return np.nan_to_num(audio[:want], copy=False)


def write_wav(path: Path | str, audio: np.ndarray, sr: int) -> Path:
    """Write float audio (n,) or (c, n) as 16-bit PCM WAV."""
    import soundfile as sf

    data = np.asarray(audio, dtype=np.float32)
    if data.ndim == 2:
        data = data.T
    sf.write(str(path), np.clip(data, -1, 1), sr, subtype="PCM_16")
    return Path(path)


def wav_bytes(audio: np.ndarray, sr: int) -> bytes:
    """Float audio (n,) or (c, n) as the bytes of a 16-bit PCM WAV file (what `write_wav` writes)."""
    import io

    import soundfile as sf

    data = np.asarray(audio, dtype=np.float32)
    if data.ndim == 2:
        data = data.T
    buf = io.BytesIO()
    sf.write(buf, np.clip(data, -1, 1), sr, subtype="PCM_16", format="WAV")
    return buf.getvalue()


def write_audio_frames(container: Any, stream: Any, data: np.ndarray, sr: int, layout: str,
                       block: int = 1024 * 16) -> None:
    """Encode (channels, n) float audio into an open PyAV `stream` of `container` and mux the packets
    (resampled to the codec's sample format when it is not planar float), then flush the encoder."""
    import av

    fmt = stream.codec_context.format.name if stream.codec_context.format else "fltp"
    resampler = av.AudioResampler(format=fmt, layout=layout, rate=sr) if fmt != "fltp" else None
    for i in range(0, data.shape[1], block):
        chunk = np.ascontiguousarray(np.clip(data[:, i:i + block], -1, 1).astype(np.float32))
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        frame.sample_rate = sr
        frame.pts = i
        frame.time_base = Fraction(1, sr)
        for f in resampler.resample(frame) if resampler is not None else [frame]:
            for packet in stream.encode(f):
                container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def encode_audio(path: Path | str, audio: np.ndarray, sr: int, codec: str = "aac",
                 container_format: str | None = None, bitrate: int = 128_000) -> Path:
    """Encode mono/stereo float audio with PyAV (aac in .m4a/.mp4, libmp3lame in .mp3, flac, ...)."""
    import av

    data = np.asarray(audio, dtype=np.float32)
    if data.ndim == 1:
        data = data[None, :]
    channels = data.shape[0]
    layout = "mono" if channels == 1 else "stereo"
    with av.open(str(path), "w", format=container_format) as out:
        stream = out.add_stream(codec, rate=sr, layout=layout)
        if codec not in ("flac", "pcm_s16le") and bitrate:
            stream.bit_rate = bitrate
        write_audio_frames(out, stream, data, sr, layout)
    return Path(path)
