"""Video decoding with PyAV: probe, frame iteration, frame sampling, scene changes, test encoding.

* `probe_video(path)` -> `VideoInfo` (duration, fps, size, frame count, audio or not).
* `iter_frames(path, stride=, start=, end=, max_side=)` yields `(frame_index, timestamp_s, bgr)`
  for every `stride`-th decoded frame, with threaded decoding; scaling and colour conversion are
  done by libswscale in one step (`VideoFrame.reformat`). The frame index is derived from the
  timestamp (`round((t - stream_start) * fps)`), so it is the same whether or not we seeked.
* `sample_frames(path, n, mode="uniform")` seeks to the keyframe before each target time and
  decodes forward to the target (close targets are reached by decoding on without a new seek);
  `mode="keyframes"` returns frames at *scene changes* found from the picture content (a
  ContentDetector-like HSV difference on 64-px thumbnails), not codec I-frames.
* Scene changes and sampling by content are in `media/scenes.py`; encoding is in `media/encode.py`.

Errors: a file without a video stream, a corrupt or truncated container, or one where no frame
decodes raise `SensoriumError(PROCESSING_FAILED)` with a plain message.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sensorium.errors import ErrorCode, SensoriumError

log = logging.getLogger(__name__)

THUMB = 64  # side of the grey thumbnails used for motion and scene scores

SAMPLING_MODES = ("uniform", "keyframes")
#: PyAV/FFmpeg decoder threading: "AUTO" = frame + slice threads (all cores)
DECODE_THREAD_TYPE = "AUTO"
#: decode forward (instead of seeking) when the next target is at most this far ahead
FORWARD_DECODE_SECONDS = 1.5
#: while decoding towards a target, non-reference frames earlier than this are not decoded
SKIP_MARGIN_SECONDS = 0.3


@dataclass
class VideoInfo:
    duration: float
    fps: float
    width: int
    height: int
    frame_count: int
    codec: str
    has_audio: bool
    start_time: float = 0.0
    rotation: int = 0  # degrees counter-clockwise applied to decoded frames (display matrix)
    audio_codec: str | None = None

    @property
    def resolution(self) -> str:
        return f"{self.width}x{self.height}"

    def to_dict(self) -> dict:
        return {
            "duration": round(self.duration, 3),
            "fps": round(self.fps, 3),
            "resolution": self.resolution,
            "width": self.width,
            "height": self.height,
            "frame_count": self.frame_count,
            "codec": self.codec,
            "has_audio": self.has_audio,
        }


@dataclass
class SampledFrame:
    index: int
    timestamp: float
    image: np.ndarray  # BGR uint8
    scene_change: bool = False
    score: float | None = None  # scene-change strength (keyframes mode)
    extra: dict = field(default_factory=dict)


def _fail(message: str, exc: BaseException | None = None) -> SensoriumError:
    err = SensoriumError(ErrorCode.PROCESSING_FAILED, message)
    if exc is not None:
        err.__cause__ = exc
    return err


def _open(path: Path | str):
    import av

    try:
        return av.open(str(path), metadata_errors="ignore")
    except Exception as exc:  # av.error.InvalidDataError, FileNotFoundError, ...
        raise _fail(f"Could not open the video: {exc}. The file may be corrupt or truncated.", exc) from exc


def _video_stream(container):
    import av

    streams = [s for s in container.streams.video if s.codec_context is not None]
    disp = getattr(getattr(av, "stream", None), "Disposition", None)
    if disp is not None:
        streams = [s for s in streams if not (s.disposition & disp.attached_pic)] or []
    if not streams:
        raise _fail("The file has no video stream (only audio or data); nothing to look at.")
    return streams[0]


def _stream_fps(stream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    return fps if 0 < fps < 1000 else 25.0


def _stream_start(stream) -> float:
    if stream.start_time is not None and stream.time_base:
        return float(stream.start_time * stream.time_base)
    return 0.0


def probe_video(path: Path | str) -> VideoInfo:
    """Stream facts from the container headers (no full decode)."""
    with _open(path) as container:
        stream = _video_stream(container)
        cc = stream.codec_context
        fps = _stream_fps(stream)
        duration = 0.0
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        if duration <= 0 and container.duration:
            duration = container.duration / 1_000_000
        frames = int(stream.frames or 0)
        if frames <= 0 and duration > 0:
            frames = int(round(duration * fps))
        if duration <= 0 and frames > 0:
            duration = frames / fps
        rotation = 0
        try:  # the display matrix rides on the frames: look at the first one
            stream.thread_type = "SLICE"
            first = next(iter(_decode(container, stream)), None)
            if first is not None:
                rotation = _rotation_steps(first) * 90
        except Exception:  # a damaged first frame: leave the decoding errors to the readers
            rotation = 0
        audio = [s for s in container.streams.audio if s.codec_context is not None]
        if not cc.width or not cc.height:
            raise _fail("The video stream has no picture size; the file may be corrupt.")
        w, h = int(cc.width), int(cc.height)
        if rotation in (90, 270):
            w, h = h, w  # sizes as displayed
        return VideoInfo(
            duration=duration,
            fps=fps,
            width=w,
            height=h,
            frame_count=frames,
            codec=cc.name,
            has_audio=bool(audio),
            start_time=_stream_start(stream),
            rotation=rotation,
            audio_codec=audio[0].codec_context.name if audio else None,
        )


def _target_size(w: int, h: int, max_side: int | None) -> tuple[int, int] | None:
    if not max_side or max(w, h) <= max_side:
        return None
    r = max_side / max(w, h)
    return max(2, int(round(w * r / 2)) * 2), max(2, int(round(h * r / 2)) * 2)


def _rotation_steps(frame) -> int:
    """Quarter turns (counter-clockwise) the display matrix asks for (phone videos: portrait)."""
    try:
        return int(round(float(frame.rotation or 0) / 90)) % 4
    except (AttributeError, TypeError, ValueError):  # pragma: no cover - PyAV < 14
        return 0


def _to_bgr(frame, max_side: int | None) -> np.ndarray:
    """BGR uint8 as displayed: scaled to max_side, rotated upright per the display matrix."""
    size = _target_size(frame.width, frame.height, max_side)
    if size is None:
        img = frame.to_ndarray(format="bgr24")
    else:
        img = frame.reformat(width=size[0], height=size[1], format="bgr24").to_ndarray()
    k = _rotation_steps(frame)
    return np.ascontiguousarray(np.rot90(img, k)) if k else img


def _frame_time(frame, stream) -> float | None:
    if frame.pts is not None and stream.time_base:
        return float(frame.pts * stream.time_base)
    if frame.time is not None:
        return float(frame.time)
    return None


def _decode(container, stream) -> Iterator:
    """container.decode that turns a truncated tail into a clean stop (after some frames)."""
    import av

    it = container.decode(stream)
    while True:
        try:
            frame = next(it)
        except StopIteration:
            return
        except (av.error.InvalidDataError, av.error.EOFError, EOFError) as exc:
            log.info("decoding stopped early: %s", exc)
            return
        except av.error.FFmpegError as exc:
            log.info("decoding stopped on an error: %s", exc)
            return
        yield frame


def iter_frames(
    path: Path | str,
    *,
    stride: int = 1,
    start: float = 0.0,
    end: float | None = None,
    max_side: int | None = None,
    check: Callable[[], None] | None = None,
) -> Iterator[tuple[int, float, np.ndarray]]:
    """Yield (frame_index, timestamp_seconds, BGR uint8) for every `stride`-th frame in [start, end).

    Timestamps are relative to the start of the video stream. Decoding is threaded; frames that
    are skipped by `stride` are decoded but never converted. A file that decodes no frame at all
    raises PROCESSING_FAILED; a truncated file yields the frames before the damage.
    """
    if stride < 1:
        raise ValueError("stride must be >= 1")
    with _open(path) as container:
        stream = _video_stream(container)
        stream.thread_type = DECODE_THREAD_TYPE
        fps = _stream_fps(stream)
        t0 = _stream_start(stream)
        if start > 0 and stream.time_base:
            try:
                container.seek(int((start + t0) / stream.time_base), stream=stream, backward=True)
            except Exception:  # not seekable: decode from the beginning
                container.seek(0)
        n_seen = 0
        n_decoded = 0
        last_idx = -1
        try:
            for frame in _decode(container, stream):
                n_decoded += 1
                t = _frame_time(frame, stream)
                t = (t - t0) if t is not None else n_decoded / fps
                idx = int(round(t * fps))
                if idx <= last_idx:  # duplicate/unsorted timestamps: keep indices increasing
                    idx = last_idx + 1
                last_idx = idx
                if t < start - 0.5 / fps:
                    continue
                if end is not None and t >= end:
                    break
                if n_seen % stride == 0:
                    if check is not None:
                        check()
                    yield idx, round(t, 4), _to_bgr(frame, max_side)
                n_seen += 1
        except SensoriumError:
            raise
        except Exception as exc:
            if n_decoded == 0:
                raise _fail(f"Could not decode the video: {exc}.", exc) from exc
            log.info("iter_frames stopped at frame %d: %s", n_decoded, exc)
        if n_decoded == 0:
            raise _fail("No video frame could be decoded; the file may be corrupt or truncated.")


def uniform_times(duration: float, n: int) -> list[float]:
    """n timestamps at the centres of n equal slices of [0, duration)."""
    if n <= 0 or duration <= 0:
        return [0.0] if n > 0 else []
    return [duration * (i + 0.5) / n for i in range(n)]


# one seek-and-decode state machine over sorted targets: split, its shared state (it, pos, last) would leak
def frames_at(
    path: Path | str,
    times: Sequence[float],
    *,
    max_side: int | None = None,
    check: Callable[[], None] | None = None,
    motion: bool = False,
) -> list[SampledFrame]:
    """The first frame at or after each time (seconds), by seek-to-keyframe + forward decode.

    motion: also decode the following frame and store `extra["motion"]`, the mean absolute
    difference (0..255, per 1/30 s) between the two frames' grey thumbnails.

    Consecutive targets closer than FORWARD_DECODE_SECONDS are reached by decoding on. If the
    stream ends before a target (a truncated file, a probe that overstated the duration), the last
    decodable frame stands in for it; duplicates are dropped.
    """
    targets = sorted(max(0.0, float(t)) for t in times)
    out: list[SampledFrame] = []
    if not targets:
        return out
    with _open(path) as container:
        stream = _video_stream(container)
        stream.thread_type = DECODE_THREAD_TYPE
        fps = _stream_fps(stream)
        t0 = _stream_start(stream)
        half = 0.5 / fps
        it: Iterator | None = None
        pos = -math.inf  # timestamp of the last decoded frame
        last = None  # (t, frame)
        for target in targets:
            if check is not None:
                check()
            fresh = it is None  # targets are sorted: never a reason to go back
            if fresh or target - pos > FORWARD_DECODE_SECONDS:
                if target > FORWARD_DECODE_SECONDS and stream.time_base:
                    try:
                        container.seek(int((target + t0) / stream.time_base), stream=stream, backward=True)
                    except Exception as exc:  # unseekable: decode on from where we are
                        log.info("seek failed (%s); decoding forward", exc)
                        if it is None:
                            container.seek(0)
                    it = _decode(container, stream)
                elif fresh:
                    if it is not None:
                        container.seek(0)
                    it = _decode(container, stream)
            got = None
            # frames long before the target need not be shown: skip decoding the non-reference ones
            margin = max(SKIP_MARGIN_SECONDS, 6 / fps)
            skipping = target - max(pos, 0.0) > 2 * margin and _set_skip(stream, "NONREF")
            for frame in it:
                t = _frame_time(frame, stream)
                t = (t - t0) if t is not None else (0.0 if pos == -math.inf else pos + 1 / fps)
                pos = t
                last = (t, frame)
                if skipping and t >= target - margin:
                    skipping = not _set_skip(stream, "DEFAULT")
                if t >= target - half:
                    got = (t, frame)
                    break
            if skipping:
                _set_skip(stream, "DEFAULT")
            ended = got is None
            if got is None:  # stream ended before the target
                if last is None:
                    break
                got = last
                it = iter(())
            t, frame = got
            idx = int(round(t * fps))
            if out and out[-1].index == idx:
                if ended:
                    out[-1].extra["stream_ended_before"] = round(target, 3)
                continue
            sf = SampledFrame(idx, round(t, 4), _to_bgr(frame, max_side))
            if ended:
                sf.extra["stream_ended_before"] = round(target, 3)
            if motion:
                nxt = next(it, None)
                if nxt is not None:
                    sf.extra["motion"] = round(_gray_diff(frame, nxt) * 30 / fps, 2)
                    it = itertools.chain([nxt], it)
            out.append(sf)
    if not out:
        raise _fail("No video frame could be decoded; the file may be corrupt or truncated.")
    return out


def _set_skip(stream, mode: str) -> bool:
    """Set the decoder's skip_frame (True when it took effect)."""
    try:
        stream.codec_context.skip_frame = mode
        return True
    except Exception:  # pragma: no cover - old PyAV / codec without the option
        return False


def _gray_thumb(frame) -> np.ndarray:
    th = max(2, int(round(frame.height * THUMB / max(1, frame.width) / 2)) * 2)
    small = frame.reformat(width=THUMB, height=th, format="gray", interpolation="FAST_BILINEAR")
    return small.to_ndarray().astype(np.int16)


def _gray_diff(a, b) -> float:
    return float(np.abs(_gray_thumb(a) - _gray_thumb(b)).mean())



__all__ = [
    "SAMPLING_MODES", "SampledFrame", "VideoInfo", "frames_at", "iter_frames", "probe_video", "uniform_times",
]
